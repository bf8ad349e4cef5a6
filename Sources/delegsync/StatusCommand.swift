import Agent
import DelegationCore
import ArgumentParser
import DNSWire
import Foundation
import SIG0
import Store
import Transport

/// `delegsync status [CHILD]`: without a child, whether the agent is up, its version, the zones
/// it serves, bootstrap jobs pending and the outbox depth — exit 3 when the agent is down. "Up"
/// means an agent proved that it serves this configuration's store (``StatusProbe``: a CH TXT
/// question with a fresh nonce, answered with a MAC under the store's secret); anything else
/// answering on the listen address is named, and the agent counts as down. With a child, one
/// screen on what happened to the child's keys and what its bootstrap job waits for. Either
/// form only reads the store, and creates no file.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Without CHILD: is the agent up (exit 3 if not), zones, jobs pending, outbox depth. With CHILD: its keys, bootstrap jobs and last CDS/CSYNC scan.",
        discussion: """
            The agent is up when it answers on a listen address and proves that it serves the store of this configuration \
            (a CH TXT question for <nonce>.status.delegsync., answered with a MAC under a secret kept in the store). No answer, \
            another program, or another delegsync agent with another store on the address: "down", exit 3. A configuration \
            that cannot be read: exit 2. The store is only read; nothing is created. The jobs listed are streamed from the store: \
            --state, --since and --limit (default 20 without CHILD) choose which.
            """)

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
            let (_, store) = try options.openForReading()
            let name = try absoluteName(child ?? "")
            let now = Int64(Date().timeIntervalSince1970)
            let keys = try store.keys(zone: nil, child: name)
            var jobs: [KeyBootstrap] = []
            try store.eachBootstrap(BootstrapFilter(child: name, state: filter.state, since: try filter.sinceTime(now: now), limit: filter.limit)) {
                jobs.append($0)
            }
            // The scan state under each zone above the child (one lookup each, not every row).
            var scans: [ScanState] = []
            var zone = name
            while !zone.isRoot {
                zone = zone.parent
                if let scan = try store.scanState(zone: zone, child: name) { scans.insert(scan, at: 0) }
            }
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
        do {
            configuration = try AgentConfiguration.load(path: options.config)
        } catch {
            printError("error: \(error)")
            throw ExitCode(UsageFailure.exitStatus)
        }
        // The store is only read. Without it (or its secret) no answer can prove to be this
        // agent's, which is said below; the agent then counts as down.
        var store: (any DelegationStore)? = nil
        var storeProblem: String? = nil
        var secret: [UInt8]? = nil
        do {
            store = try configuration.store.openExisting()
            if let store { secret = try store.statusSecret() } else { storeProblem = KeysCommand.Options.absent(configuration.storePath) }
        } catch {
            storeProblem = "\(error)"
        }
        var answering: [String] = []
        var silent: [String] = []
        var others: [String] = []
        var version: String? = nil
        for listen in configuration.listen {
            let place = "\(listen.address) port \(listen.port)"
            switch try await Self.ask(listen, secret: secret) {
            case nil:
                silent.append(place)
            case .thisAgent(let answered):
                answering.append(place)
                version = answered
            case .otherAgent(let answered):
                others.append(
                    "\(place): a delegsync agent (\(answered))"
                        + (secret == nil
                            ? " that nothing proves to serve this configuration's store (see store: below)"
                            : " that does not serve the store \(configuration.store.description)"))
            case .somethingElse(let what):
                others.append("\(place): \(what)")
            }
        }
        let up = !answering.isEmpty
        print("delegsync \(AgentVersion.current)")
        if up {
            print("agent: up, answering on \(answering.joined(separator: ", "))" + (version == AgentVersion.current ? "" : " (version \(version ?? "?"))"))
            if !others.isEmpty { print("something else answers on \(others.joined(separator: "; "))") }
            if !silent.isEmpty { print("not answering on: \(silent.joined(separator: ", "))") }
        } else if !others.isEmpty {
            print("agent: down (something else answers on \(others.joined(separator: "; ")))")
            if !silent.isEmpty { print("no answer on: \(silent.joined(separator: ", "))") }
        } else {
            print("agent: down: no answer on \(silent.joined(separator: ", "))")
        }
        print("zones: \(configuration.zones.map(\.name.description).joined(separator: " "))")
        if let store, storeProblem == nil {
            // Counted without reading the jobs; a few listed (a registry may have thousands).
            let counts = (try? store.bootstrapCounts()) ?? [:]
            let pending = ["verifying", "awaiting-confirmation"].reduce(0) { $0 + (counts[$1] ?? 0) }
            var listed: [String] = []
            let jobs = BootstrapFilter(
                state: filter.state, activeOnly: filter.state == nil, since: try filter.sinceTime(now: Int64(Date().timeIntervalSince1970)),
                limit: filter.limit ?? 20)
            try? store.eachBootstrap(jobs) { listed.append("\($0.child) key \($0.keyTag)") }
            print("bootstrap jobs pending: \(pending)" + (listed.isEmpty ? "" : " (\(listed.joined(separator: ", "))\(listed.count < pending ? ", …" : ""))"))
            print("outbox: \((try? store.pendingCount()).map(String.init) ?? "unreadable") change(s) waiting")
        } else {
            print("store: \(storeProblem ?? "unreadable")")
        }
        if !up { throw ExitCode(Self.down) }
    }

    /// Asks one listen address the status question over TCP; nil when nothing answers.
    static func ask(_ listen: AgentConfiguration.Listen, secret: [UInt8]?) async throws -> StatusProbe.Verdict? {
        // A wildcard listens on loopback too.
        let host = listen.address == "0.0.0.0" ? "127.0.0.1" : listen.address == "::" ? "::1" : listen.address
        var random = SystemRandomNumberGenerator()
        let query = try StatusProbe.query(id: .random(in: 0...UInt16.max), nonce: (0..<16).map { _ in .random(in: 0...255, using: &random) })
        let bytes = try query.wireFormat()
        let reply: [UInt8]
        do {
            reply = try await DNSClient(timeout: .seconds(2)).exchange(bytes, host: host, port: listen.port, transport: .tcp)
        } catch {
            return nil
        }
        return StatusProbe.verdict(reply: reply, to: query, secret: secret)
    }
}
