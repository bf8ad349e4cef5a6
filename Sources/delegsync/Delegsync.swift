import ArgumentParser

/// The `delegsync` command line: thin commands over DNSWire and SIG0.
@main
struct Delegsync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delegsync",
        abstract: "Delegation synchronisation from a child zone to its parent, with SIG(0)-signed DNS UPDATE.",
        version: DelegsyncVersion.current,
        subcommands: [KeygenCommand.self, MessageCommand.self, VersionCommand.self]
    )
}

enum DelegsyncVersion {
    static let current = "0.1.0"
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("delegsync \(DelegsyncVersion.current)")
    }
}

/// A failure the user can fix: printed as one `error: …` line, exit status 2.
struct UsageFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ParsableCommand {
    /// Runs `body`, turning thrown errors into one line on stderr and an exit status.
    func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }
}
