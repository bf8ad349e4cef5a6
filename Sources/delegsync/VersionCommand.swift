import ArgumentParser

/// `delegsync version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("delegsync \(DelegsyncVersion.current)")
    }
}
