import DNSWire
import Foundation

/// Hands the change, as `nsupdate` script text (``NSUpdateScript``, no `server` line), to the
/// operator: on stdin to a command (exit status 0 means applied), or appended to a file
/// (`"-"` for stdout).
///
/// With a file or stdout the change counts as applied once written: committing it is then the
/// operator's business. Idempotence is the command's job (the same text may come twice).
public struct ScriptBackend: DelegationBackend {
    public let command: [String]?
    public let outputPath: String?
    /// Seconds the command may run. Default 60.
    public let timeLimit: Double

    /// Give a command, an output path, or both (the text is written, then the command runs).
    public init(command: [String]?, outputPath: String?, timeLimit: Double = 60) {
        self.command = command
        self.outputPath = outputPath
        self.timeLimit = timeLimit
    }

    public var description: String {
        var parts: [String] = []
        if let command { parts.append("script \(command.joined(separator: " "))") }
        if let outputPath { parts.append("script output to \(outputPath == "-" ? "stdout" : outputPath)") }
        return parts.isEmpty ? "script (nowhere)" : parts.joined(separator: ", ")
    }

    public func apply(_ update: Update) async throws {
        guard command != nil || outputPath != nil else { throw BackendError("\(description): neither a command nor an output path") }
        let text = NSUpdateScript(update: update).text
        guard !text.isEmpty else { return }
        if let outputPath {
            try Self.append(text, to: outputPath)
        }
        if let command {
            let result = try await ExternalCommand(command, timeLimit: timeLimit).run(input: text)
            guard !result.timedOut, result.status == 0 else {
                let why = result.timedOut ? "no result within \(Int(timeLimit)) s" : "exit status \(result.status)"
                throw BackendError("\(description): \(why): \(result.output.isEmpty ? "(no output)" : result.output)")
            }
        }
    }

    static func append(_ text: String, to path: String) throws {
        let data = Data(text.utf8)
        if path == "-" {
            FileHandle.standardOutput.write(data)
            return
        }
        do {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw BackendError("cannot create \(path)")
                }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch let error as BackendError {
            throw error
        } catch {
            throw BackendError("script output to \(path): \(error)")
        }
    }
}
