import Agent
import ArgumentParser
import DNSWire
import Foundation

/// The `delegsync` command line: thin commands over DNSWire and SIG0.
///
/// Exit status: 0 success, 1 a message did not verify, 2 anything the operator has to fix
/// (usage, unreadable files, bad input). Every failure is one line on stderr.
@main
struct Delegsync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delegsync",
        abstract: "Delegation synchronisation from a child zone to its parent, with SIG(0)-signed DNS UPDATE.",
        discussion: """
            The parental agent (delegsync serve) receives SIG(0)-signed DNS UPDATEs from child zones (RFC 2136, RFC 2931, \
            RFC 3007), bootstraps trust in their keys and commits delegation changes (NS, glue, DS) through the parent's \
            nameserver. The child agent (delegsync child) keeps the parent's delegation in step with the child's apex. \
            Configuration: /etc/delegsync/delegsync.yaml for the parent, /etc/delegsync/child.yaml for the child; every key \
            is documented in configuration.md and in the commented samples (share/doc/delegsync). \
            delegsync check-config checks a file. \
            Exit status: 0 success; 1 a message did not verify, or the peer could not be reached; 2 something to fix here \
            (usage, files, configuration); 3 the agent is down (status) or a bootstrap is pending (child); 4 the parent \
            refused (child). Every failure is one line on stderr.
            """,
        version: DelegsyncVersion.current,
        subcommands: [
            ServeCommand.self, CheckConfigCommand.self, KeysCommand.self, AuditCommand.self, StatusCommand.self, PublishRecordsCommand.self, KeygenCommand.self,
            MessageCommand.self, ChildCommand.self,
            VersionCommand.self,
        ]
    )

    /// ArgumentParser's `main()`, except that errors become one `error: …` line (its own
    /// messages add usage and help lines) and usage errors exit with 2, not 64. Runs
    /// synchronous and asynchronous subcommands alike.
    static func main() async {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            // --help, --version and `help` print to stdout and exit 0, as usual.
            if exitCode(for: error) == .success { exit(withError: error) }
            fail("\(message(for: error)) (see --help)")
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let status as ExitCode {
            // The command has printed its own line (e.g. "not verified: …").
            Foundation.exit(status.rawValue)
        } catch {
            // `delegsync help …` and `--help` reach here as a help request from run().
            if exitCode(for: error) == .success { exit(withError: error) }
            fail("\(error)")
        }
    }

    static func fail(_ message: String) -> Never {
        printError("error: " + message.split(whereSeparator: \.isNewline).joined(separator: "; "))
        Foundation.exit(UsageFailure.exitStatus)
    }
}

enum DelegsyncVersion {
    static let current = AgentVersion.current
}

/// A failure the operator can fix: printed as one `error: …` line, exit status 2.
struct UsageFailure: Error, CustomStringConvertible {
    static let exitStatus: Int32 = 2

    let description: String
    init(_ description: String) { self.description = description }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

extension ParsableCommand {
    /// Runs `body`, turning thrown errors into one line on stderr and exit status 2, as
    /// ``Delegsync/main()`` does for errors that leave `run()`.
    func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("error: \(error)")
            throw ExitCode(UsageFailure.exitStatus)
        }
    }
}

/// A name from the command line; a missing final dot is added (operators write `child.parent`).
func absoluteName(_ text: String) throws -> DomainName {
    try DomainName(text.hasSuffix(".") ? text : text + ".")
}
