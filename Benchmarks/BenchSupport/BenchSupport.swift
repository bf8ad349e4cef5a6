import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Prints a line at once (unbuffered, also into a pipe).
public func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// CPU seconds (user and system) this process has used so far, all its threads together.
public func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// `openssl speed -seconds N <algorithm>`'s verify/s, from the line naming `marker`; with
/// `processes` above 1, `openssl speed -multi P`'s, the sum over its processes. `openssl speed`
/// divides by the CPU time it used (not by the wall clock), so the figure holds on a busy machine.
///
/// Call it from the main thread before any `await`: `openssl speed` times itself with SIGALRM,
/// and a process spawned from a Swift concurrency worker thread inherits a signal mask that
/// blocks it, so it would never stop.
public func opensslVerifyRate(_ algorithm: String, marker: String, seconds: Double, processes: Int = 1) -> Double? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = ["speed", "-seconds", String(Int(seconds))] + (processes > 1 ? ["-multi", String(processes)] : []) + [algorithm]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard let line = output.split(separator: "\n").last(where: { $0.contains(marker) }) else { return nil }
    return line.split(separator: " ").last.flatMap { Double($0) }
}
