import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// Runs a program the way delegsync runs every program (nsupdate, knsupdate, nsd-checkzone,
/// nsd-control, an operator's script or confirmation command), on swift-subprocess: an argument
/// vector, never a shell line; text on stdin; stdout and stderr captured up to
/// ``outputLimit`` bytes each; after the time limit the program's whole process group gets
/// SIGTERM and, 2 s later, SIGKILL. A bare program name is looked up on PATH and in /usr/sbin,
/// /sbin (where the nameserver tools live).
public struct ExternalCommand: Sendable {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// True when the command ran past its time limit and was stopped.
        public let timedOut: Bool

        /// stdout and stderr together, trimmed, for error messages.
        public var output: String {
            [stdout, stderr].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: "\n")
        }
    }

    /// Bytes of stdout (and of stderr) kept; a program that prints more fails.
    public static let outputLimit = 1 << 20

    let command: [String]
    /// Seconds the command may run before it is stopped. Default 60.
    let timeLimit: Double

    public init(_ command: [String], timeLimit: Double = 60) {
        self.command = command
        self.timeLimit = timeLimit
    }

    static func executablePath(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The input as an unlinked temporary file, read from its start. Not a pipe: with a pipe,
    /// swift-subprocess 1.0.2 traps ("FileDescriptor … was not closed") when the program exits
    /// without reading its input, and that would end the agent.
    static func inputFile(_ input: String) throws -> FileDescriptor {
        var template = Array((NSTemporaryDirectory() + "/delegsync-stdin.XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw BackendError("cannot make a temporary file for a command's input: \(String(cString: strerror(errno)))") }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        let descriptor = FileDescriptor(rawValue: fd)
        do {
            _ = try descriptor.writeAll(Array(input.utf8))
            _ = try descriptor.seek(offset: 0, from: .start)
        } catch {
            try? descriptor.close()
            throw BackendError("cannot write a command's input to a temporary file: \(error)")
        }
        return descriptor
    }

    /// Runs the command to its end or to the time limit.
    public func run(input: String = "") async throws -> Result {
        guard let program = command.first else { throw BackendError("empty command") }
        guard let executable = Self.executablePath(program) else { throw BackendError("\(program): command not found") }
        // Its own session and process group, so the time limit reaches whatever it started too.
        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(2))]
        let configuration = Configuration(
            executable: .path(FilePath(executable)), arguments: Arguments(Array(command.dropFirst())), platformOptions: options)
        let limit = timeLimit
        let stdin = try Self.inputFile(input)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                let result: ExecutionResult<Void, StringOutput<UTF8>, StringOutput<UTF8>>
                do {
                    result = try await Subprocess.run(
                        configuration, input: .fileDescriptor(stdin, closeAfterSpawningProcess: true), output: .string(limit: Self.outputLimit), error: .string(limit: Self.outputLimit))
                } catch let error as SubprocessError where error.code == .init(.outputLimitExceeded) {
                    throw BackendError("\(executable) printed more than \(Self.outputLimit) bytes")
                } catch let error as SubprocessError {
                    throw BackendError("cannot run \(executable): \(error)")
                }
                let status: Int32
                switch result.terminationStatus {
                case .exited(let code): status = code
                case .signaled(let signal): status = 128 + signal
                }
                return Result(status: status, stdout: result.standardOutput, stderr: result.standardError, timedOut: false)
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int(limit * 1000)))
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            if let first { return first }
            // The time limit: cancelling the run task tears the process group down.
            let stopped = try? await group.next()
            return Result(status: stopped??.status ?? 128 + SIGKILL, stdout: stopped??.stdout ?? "", stderr: stopped??.stderr ?? "", timedOut: true)
        }
    }
}
