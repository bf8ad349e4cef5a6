import Agent
import ArgumentParser
import Backends
import ChildAgent
import DaemonSupport
import Foundation
import Transport

/// `delegsync check-config --config FILE`: cheap enough for systemd's ExecStartPre. Reads
/// either file (the child agent's has `children:`), checks every value, that the store can be
/// written and that every key file named loads; `--online` asks the primaries too; `--print`
/// writes the effective configuration.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract:
            "Check a configuration file, the parent agent's or the child agent's (one with children:); exit 0 when usable, else print what to fix.",
        discussion: """
            Besides every value: the store's directory must exist and be writable by this user, and every key file the \
            configuration names must load (identity key pair, TSIG key files, the child's receiver key and key pairs). \
            --online also asks each zone's primary for the zone's SOA, TSIG-signed where a TSIG key is configured, and \
            checks the answer's TSIG. --print writes the effective configuration instead of "ok": every default filled \
            in, as YAML that check-config reads back.
            """)

    @Option(help: "The YAML configuration file.")
    var config: String
    @Flag(help: "Print the effective configuration, every default filled in, as YAML.")
    var print = false
    @Flag(help: "Also ask each primary for its zone's SOA (TSIG-signed where a key is configured).")
    var online = false

    func run() async throws {
        do {
            let reader = try ConfigReader(path: config)
            let kind: any CheckedConfiguration.Type = reader.document["children"] != nil ? ChildConfiguration.self : AgentConfiguration.self
            let configuration = try kind.init(reading: reader)
            try configuration.checkFiles(reader)
            let seen = online ? try await Self.ask(configuration.primaryChecks(), reader) : []
            if print {
                let header = ["The effective configuration of \(config), every default filled in (delegsync check-config --print)."]
                Swift.print(try configuration.yaml(header: header + seen), terminator: "")
            } else {
                seen.forEach { Swift.print($0) }
                Swift.print("\(config): ok\(configuration.summary)")
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode(UsageFailure.exitStatus)
        }
    }

    /// Runs the `--online` checks one after the other; the first failure is the error, naming
    /// the key path (and its line) it is about.
    static func ask(_ checks: [(path: String, check: PrimarySOACheck)], _ reader: ConfigReader) async throws -> [String] {
        let client = DNSClient(timeout: .seconds(3))
        var seen: [String] = []
        for (path, check) in checks {
            do {
                seen.append("\(path): \(check.endpoint): \(try await check.run(client: client, now: UInt64(Date().timeIntervalSince1970)))")
            } catch {
                throw reader.fail(path, "\(error)")
            }
        }
        return seen
    }
}

/// What check-config does with either file.
protocol CheckedConfiguration {
    init(reading reader: ConfigReader) throws
    /// After "ok": what the file configures.
    var summary: String { get }
    func checkFiles(_ reader: ConfigReader) throws
    func primaryChecks() throws -> [(path: String, check: PrimarySOACheck)]
    func yaml(header: [String]) throws -> String
}

extension AgentConfiguration: CheckedConfiguration {
    var summary: String {
        let names = zones.map(\.name.description)
        return " (\(names.count) zone\(names.count == 1 ? "" : "s"): \(names.joined(separator: ", ")))"
    }

    func checkFiles(_ reader: ConfigReader) throws { try reader.checkFiles(self) }
}

extension ChildConfiguration: CheckedConfiguration {
    var summary: String {
        let names = children.map(\.name.description)
        return ", child agent (\(names.count) child\(names.count == 1 ? "" : "ren"): \(names.joined(separator: ", ")))"
    }

    func checkFiles(_ reader: ConfigReader) throws { try reader.checkFiles(self) }
}
