import Agent
import ArgumentParser
import DNSWire
import Foundation
import SIG0
import Store
import Transport

/// `delegsync status [CHILD]`: without a child, whether the agent is up (it answers on its
/// listen address), its version, the zones it serves, bootstrap jobs pending and the outbox
/// depth — exit 3 when the agent is down. With a child, one screen on what happened to the
/// child's keys and what its bootstrap job waits for.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Without CHILD: is the agent up (exit 3 if not), zones, jobs pending, outbox depth. With CHILD: its keys, bootstrap jobs and last CDS/CSYNC scan.")

    @OptionGroup var options: KeysCommand.Options
    @Argument(help: "The child, e.g. child.parent.")
    var child: String?

    static let down: Int32 = 3

    func run() async throws {
        if child == nil {
            try await agentStatus()
            return
        }
        try reporting {
            let (_, store) = try options.open()
            let name = try absoluteName(child ?? "")
            let now = Int64(Date().timeIntervalSince1970)
            let keys = try store.keys(zone: nil, child: name)
            let jobs = try store.bootstraps(child: name, activeOnly: false)
            let scans = try store.scanStates(zone: nil).filter { $0.child == name }
            guard !keys.isEmpty || !jobs.isEmpty || !scans.isEmpty else { throw UsageFailure("nothing is known about \(name)") }
            for key in keys {
                print("key \(key.keyTag) (\(SIG0Algorithm(key.algorithm))): \(key.state.rawValue), from \(key.origin), \(key.identity.digestText)")
            }
            for job in jobs.reversed() {
                print("")
                print(job.explanation(now: now))
            }
            for scan in scans {
                print("")
                print(scan.explanation)
            }
        }
    }

    func agentStatus() async throws {
        let configuration: AgentConfiguration
        let store: SQLiteStore
        do {
            (configuration, store) = try options.open()
        } catch {
            printError("error: \(error)")
            throw ExitCode(UsageFailure.exitStatus)
        }
        var answering: [String] = []
        var silent: [String] = []
        for listen in configuration.listen {
            var query = Message(question: [Question(name: configuration.zones[0].name, type: .soa)])
            query.id = UInt16.random(in: 0...UInt16.max)
            let host = listen.address == "0.0.0.0" ? "127.0.0.1" : listen.address == "::" ? "::1" : listen.address
            let reply = try? await DNSClient(timeout: .seconds(2)).exchange(query.wireFormat(), host: host, port: listen.port, transport: .tcp)
            if reply == nil {
                silent.append("\(listen.address) port \(listen.port)")
            } else {
                answering.append("\(listen.address) port \(listen.port)")
            }
        }
        let up = !answering.isEmpty
        print("delegsync \(AgentVersion.current)")
        print("agent: " + (up ? "up, answering on \(answering.joined(separator: ", "))" : "down: no answer on \(silent.joined(separator: ", "))"))
        if up, !silent.isEmpty { print("not answering on: \(silent.joined(separator: ", "))") }
        print("zones: \(configuration.zones.map(\.name.description).joined(separator: " "))")
        let pending = (try? store.bootstraps(child: nil, activeOnly: true)) ?? []
        print(
            "bootstrap jobs pending: \(pending.count)" + (pending.isEmpty ? "" : " (\(pending.map { "\($0.child) key \($0.keyTag)" }.joined(separator: ", ")))")
        )
        print("outbox: \((try? store.pendingCount()).map(String.init) ?? "unreadable") change(s) waiting")
        if !up { throw ExitCode(Self.down) }
    }
}
