import Foundation

/// Runs a command with text on stdin and captures stdout and stderr (Foundation `Process`).
/// The command is an argument vector, never a shell line; a bare program name is looked up on
/// PATH (and in /usr/sbin, /sbin, where the nameserver tools live).
public struct Subprocess: Sendable {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// True when the command ran past its time limit and was killed.
        public let timedOut: Bool

        /// stdout and stderr together, trimmed, for error messages.
        public var output: String {
            [stdout, stderr].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: "\n")
        }
    }

    let command: [String]
    /// Seconds the command may run before it is sent SIGTERM (then SIGKILL). Default 60.
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

    /// Runs the command to its end (or the time limit) off the cooperative thread pool.
    public func run(input: String = "") async throws -> Result {
        guard let program = command.first else { throw BackendError("empty command") }
        guard let executable = Self.executablePath(program) else { throw BackendError("\(program): command not found") }
        let arguments = Array(command.dropFirst())
        let limit = timeLimit
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: try Self.runBlocking(executable, arguments, input: input, timeLimit: limit))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    static func runBlocking(_ executable: String, _ arguments: [String], input: String, timeLimit: Double) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            throw BackendError("cannot run \(executable): \(error)")
        }
        // Read both pipes while the process runs, so a chatty command cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            outData = stdout.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            errData = stderr.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let writer = stdin.fileHandleForWriting
        // A command that exits without reading its input must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        try? writer.write(contentsOf: Data(input.utf8))
        try? writer.close()
        let pid = process.processIdentifier
        var timedOut = false
        if finished.wait(timeout: .now() + timeLimit) == .timedOut {
            timedOut = true
            kill(pid, SIGTERM)
            if finished.wait(timeout: .now() + 2) == .timedOut { kill(pid, SIGKILL) }
        }
        process.waitUntilExit()
        group.wait()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
            timedOut: timedOut)
    }
}
