import Agent
import DelegationCore
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
        abstract: "Without CHILD: is the agent up (exit 3 if not), zones, jobs pending, outbox depth. With CHILD: its keys and bootstrap jobs.",
        discussion: "The jobs listed are streamed from the store: --state, --since and --limit (default 20 without CHILD) choose which.")

    @OptionGroup var options: KeysCommand.Options
    @Argument(help: "The child, e.g. child.parent.")
    var child: String?
    @OptionGroup var filter: ListingFilter

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
            var jobs: [KeyBootstrap] = []
            try store.eachBootstrap(BootstrapFilter(child: name, state: filter.state, since: try filter.sinceTime(now: now), limit: filter.limit)) {
                jobs.append($0)
            }
            guard !keys.isEmpty || !jobs.isEmpty else { throw UsageFailure("nothing is known about \(name)") }
            for key in keys {
                print("key \(key.keyTag) (\(SIG0Algorithm(key.algorithm))): \(key.state.rawValue), from \(key.origin), \(key.identity.digestText)")
            }
            for job in jobs.reversed() {
                print("")
                print(job.explanation(now: now))
            }
        }
    }

    func agentStatus() async throws {
        let configuration: AgentConfiguration
        let store: any DelegationStore
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
        // Counted without reading the jobs; a few listed (a registry may have thousands).
        let counts = (try? store.bootstrapCounts()) ?? [:]
        let pending = ["verifying", "awaiting-confirmation"].reduce(0) { $0 + (counts[$1] ?? 0) }
        var listed: [String] = []
        let jobs = BootstrapFilter(
            state: filter.state, activeOnly: filter.state == nil, since: try filter.sinceTime(now: Int64(Date().timeIntervalSince1970)), limit: filter.limit ?? 20)
        try? store.eachBootstrap(jobs) { listed.append("\($0.child) key \($0.keyTag)") }
        print("bootstrap jobs pending: \(pending)" + (listed.isEmpty ? "" : " (\(listed.joined(separator: ", "))\(listed.count < pending ? ", …" : ""))"))
        print("outbox: \((try? store.pendingCount()).map(String.init) ?? "unreadable") change(s) waiting")
        if !up { throw ExitCode(Self.down) }
    }
}
