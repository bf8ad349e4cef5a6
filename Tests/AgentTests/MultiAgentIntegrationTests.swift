import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store
import TestSupport
import Transport
import XCTest

/// Issue 15, "several agents, one truth": two `delegsync serve` on one PostgreSQL (a throwaway
/// cluster on 127.0.0.1:25433) in front of one real BIND parent (127.0.0.70). Eight children
/// with trusted keys (imported in bulk with `keys import --from`) send changes to both agents,
/// four more upload keys to be bootstrapped (their zones on a BIND at 127.0.0.71:53). Agent A
/// is killed with SIGKILL while changes are in flight; the children then go to agent B, as real
/// children would. Afterwards every change answered NOERROR is in the parent zone, the parent's
/// serial rose exactly once per change it holds (nothing applied twice), the outbox is empty,
/// every bootstrap completed (the killed agent's jobs were taken over when their claims
/// expired), and a message one agent accepted is refused as a replay by the other.
final class MultiAgentIntegrationTests: XCTestCase {
    static let updating = (0..<8).map { "u\($0).parent." }
    static let bootstrapping = (0..<4).map { "b\($0).parent." }
    static let childServer = "127.0.0.71"

    func parentZone() -> String {
        var text = Lab.apex
        for (index, child) in Self.updating.enumerated() {
            text += "\(child)\t3600\tIN\tNS\tns1.\(child)\nns1.\(child)\t3600\tIN\tA\t192.0.2.\(index + 1)\n"
        }
        for child in Self.bootstrapping {
            text += "\(child)\t3600\tIN\tNS\tns1.\(child)\nns1.\(child)\t3600\tIN\tA\t\(Self.childServer)\n"
        }
        return text
    }

    /// The child's zone with its KEY at TTL 1 (the rounds are spaced by at least the KEY's TTL).
    func childZone(_ child: String, key: BINDKeyFile) -> String {
        """
        $TTL 1
        \(child) IN SOA ns1.\(child) hostmaster.\(child) 1 3600 900 604800 1
        \(child) IN NS ns1.\(child)
        ns1.\(child) IN A \(Self.childServer)
        \(child) 1 IN KEY \(key.record.rdataPresentation)

        """
    }

    /// A signed UPDATE of `child`'s delegation (or a self-signed upload), as bytes.
    func signed(_ operations: [Update.Operation], by key: BINDKeyFile) throws -> [UInt8] {
        let unsigned = try Update(zone: DomainName("parent."), operations: operations).message(id: .random(in: 0...UInt16.max), edns: EDNS()).wireFormat()
        return try SIG0Signer(keyFile: key).sign(unsigned, now: UInt32(Date().timeIntervalSince1970))
    }

    static func exchange(_ bytes: [UInt8], port: Int) async -> Message? {
        guard let reply = try? await DNSClient(timeout: .seconds(15)).exchange(bytes, host: "127.0.0.1", port: port, transport: .tcp) else { return nil }
        return try? Message(wire: reply)
    }

    /// Sends every message at once; the replies in the same order (nil: none came).
    static func send(_ messages: [(Change, [UInt8], Int)]) async -> [(Change, Message?)] {
        await withTaskGroup(of: (Int, Message?).self) { group in
            for (index, message) in messages.enumerated() {
                let (bytes, port) = (message.1, message.2)
                group.addTask { (index, await exchange(bytes, port: port)) }
            }
            var replies = [Message?](repeating: nil, count: messages.count)
            for await (index, reply) in group { replies[index] = reply }
            return zip(messages.map(\.0), replies).map { ($0, $1) }
        }
    }

    struct Change: Hashable, Sendable {
        let child: String
        let nameserver: String
    }

    func testTwoAgentsOnOnePostgresOneKilled() async throws {
        try Lab.skipUnlessAvailable(.bind)
        if let missing = PostgresLab.missing { throw XCTSkip(missing) }
        let postgres = try PostgresLab(port: 25433)
        defer { postgres.stop() }
        let url = try postgres.createDatabase("agents")

        let updateKeys = try Self.updating.map { try BINDKeyFile.generate(owner: DomainName($0)) }
        let bootKeys = try Self.bootstrapping.map { try BINDKeyFile.generate(owner: DomainName($0)) }
        var childZones: [String: String] = [:]
        for (child, key) in zip(Self.bootstrapping.dropFirst(), bootKeys.dropFirst()) { childZones[child] = childZone(child, key: key) }
        let children = try LabServer.bind(
            zone: Self.bootstrapping[0], zoneFileText: childZone(Self.bootstrapping[0], key: bootKeys[0]), address: Self.childServer, port: 53,
            tsigKeyName: nil, moreZones: childZones)
        defer { children.stop() }
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: parentZone(), address: "127.0.0.70", port: 15470)
        defer { parent.stop() }
        let before = try Lab.served(parent, child: Self.updating[0])

        let store = "{ type: postgresql, url: \(url), lease: 5 }"
        let backend = "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }\n    bootstrap: { rounds: 2, minimum-interval: 1, maximum-interval: 2 }"
        // Many children on one test address: more connections per source than the default 8.
        let limits = "{ updates-per-child-per-hour: 10000, max-tcp-connections-per-source: 100, max-tcp-connections-per-prefix: 200 }"
        let agentA = try await ServeIntegrationTests.startAgent(
            parent: parent, port: 15471, backend: backend, limits: limits, contentChecks: ServeIntegrationTests.noContentChecks, store: store)
        defer { agentA.stop() }
        let agentB = try await ServeIntegrationTests.startAgent(
            parent: parent, port: 15472, backend: backend, importKey: false, keyBase: agentA.keyBase, limits: limits,
            contentChecks: ServeIntegrationTests.noContentChecks, store: store)
        defer { agentB.stop() }

        // The children's keys, in bulk, through agent A's configuration: agent B trusts them too.
        let keyFile = "\(agentA.directory)/children.keys"
        try (["; the trusted keys of the updating children"] + updateKeys.map(\.record.description)).joined(separator: "\n").write(
            toFile: keyFile, atomically: true, encoding: .utf8)
        let imported = try Tool.run(ServeIntegrationTests.binary, ["keys", "import", "--config", agentB.config, "--from", keyFile, "--trusted"])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(imported.stdout.contains("8 key(s) imported"), imported.stdout)

        var acknowledged: Set<Change> = []
        var unanswered: [Change] = []
        /// `each` changes per child, for its agent (children spread over both).
        func round(_ number: Int, each: Int = 1, ports: (Int) -> Int) throws -> [(Change, [UInt8], Int)] {
            try Self.updating.enumerated().flatMap { index, child in
                try (0..<each).map { part in
                    let change = Change(child: child, nameserver: "r\(number)\(each > 1 ? "-\(part)" : "").provider.net.")
                    return (change, try signed([.add(try Record("\(child) 3600 IN NS \(change.nameserver)"))], by: updateKeys[index]), ports(index))
                }
            }
        }
        func record(_ results: [(Change, Message?)]) {
            for (change, reply) in results {
                if reply?.rcode == .noError { acknowledged.insert(change) } else { unanswered.append(change) }
            }
        }
        let spread: (Int) -> Int = { $0 % 2 == 0 ? agentA.port : agentB.port }
        for number in 0..<3 { record(await Self.send(try round(number, ports: spread))) }
        XCTAssertEqual(acknowledged.count, 24, "before the kill every change is answered: \(unanswered)\n\(agentA.logText)\n\(agentB.logText)")

        // A message agent A accepted is a replay for agent B.
        let once = try signed([.add(try Record("\(Self.updating[0]) 3600 IN NS once.provider.net."))], by: updateKeys[0])
        let first = await Self.exchange(once, port: agentA.port)
        XCTAssertEqual(first?.rcode, .noError, first?.edns?.extendedError?.extraText ?? "no reply")
        if first?.rcode == .noError { acknowledged.insert(Change(child: Self.updating[0], nameserver: "once.provider.net.")) }
        let replayed = await Self.exchange(once, port: agentB.port)
        XCTAssertEqual(replayed?.rcode, .refused)
        XCTAssertTrue(replayed?.edns?.extendedError?.extraText.contains("replayed") ?? false, "\(String(describing: replayed?.edns?.extendedError))")

        // Key uploads to agent A: its jobs are claimed by A when it dies.
        for (child, key) in zip(Self.bootstrapping, bootKeys) {
            let upload = try signed([.deleteRRset(try DomainName(child), .key), .add(key.record)], by: key)
            let reply = await Self.exchange(upload, port: agentA.port)
            XCTAssertEqual(reply?.rcode, .noError, "upload of \(child): \(reply?.edns?.extendedError?.extraText ?? "no reply")")
        }

        // The kill, while round 3 is in flight: three changes per child at once (one after
        // another per child, under its lock).
        let delay = Int.random(in: 0...20)
        let messages = try round(3, each: 3, ports: spread)
        async let inFlight = Self.send(messages)
        try await Task.sleep(for: .milliseconds(delay))
        kill(agentA.process.processIdentifier, SIGKILL)
        agentA.process.waitUntilExit()
        record(await inFlight)
        let cutOff = unanswered.count
        XCTAssertGreaterThan(cutOff, 0, "the kill after \(delay) ms hit nothing in flight")

        // The children of agent A go to agent B; what was not answered is sent again.
        let retry = unanswered
        unanswered = []
        for change in retry {
            let index = Self.updating.firstIndex(of: change.child)!
            let bytes = try signed([.add(try Record("\(change.child) 3600 IN NS \(change.nameserver)"))], by: updateKeys[index])
            let reply = await Self.exchange(bytes, port: agentB.port)
            if reply?.rcode == .noError { acknowledged.insert(change) } else { unanswered.append(change) }
        }
        for number in 4..<6 { record(await Self.send(try round(number, ports: { _ in agentB.port }))) }
        XCTAssertEqual(unanswered, [], "agent B refused: \(agentB.logText)")

        // Agent B finishes what agent A left: its queued changes and its bootstrap jobs.
        let shared = try PostgresStore(url: url)
        var jobs: [KeyBootstrap] = []
        for _ in 0..<120 {
            jobs = try shared.bootstraps(child: nil, activeOnly: false)
            if try shared.pendingCount() == 0, jobs.count == Self.bootstrapping.count, jobs.allSatisfy({ SQLiteStore.stateName($0.state) == "trusted" }) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        XCTAssertEqual(try shared.pendingCount(), 0, "the outbox is not empty: \(agentB.logText)")
        XCTAssertEqual(jobs.map { SQLiteStore.stateName($0.state) }, Array(repeating: "trusted", count: Self.bootstrapping.count), "\(agentB.logText)")
        for (child, key) in zip(Self.bootstrapping, bootKeys) {
            let stored = try shared.key(KeyIdentity(zone: DomainName("parent."), child: DomainName(child), rdata: key.record.rdata))
            XCTAssertEqual(stored?.state, .trusted, child)
        }
        agentB.process.terminate()
        agentB.process.waitUntilExit()

        // Every acknowledged change is in the zone; the serial rose at most once per change held.
        var held = 0
        for child in Self.updating {
            let served = try Lab.served(parent, child: child)
            let names = served.ns.compactMap { $0.split(separator: " ").last.map(String.init) }.filter { $0.hasSuffix(".provider.net.") }
            held += names.count
            for change in acknowledged where change.child == child {
                XCTAssertTrue(names.contains(change.nameserver), "\(change) was answered NOERROR but is not in the parent zone")
            }
        }
        let published = try Self.bootstrapping.filter { !(try parent.dig(["+short", $0, "KEY"]).isEmpty) }.count
        let after = try Lab.served(parent, child: Self.updating[0])
        print(
            "two agents, A killed after \(delay) ms with \(cutOff) changes unanswered: \(acknowledged.count) changes acknowledged, \(held) held, \(published) KEYs published, serial +\(after.serial - before.serial)"
        )
        // Changes of several children committed together share one UPDATE and so one serial
        // step: the serial rises at most once per change held, never more.
        XCTAssertGreaterThan(after.serial, before.serial)
        XCTAssertLessThanOrEqual(Int(after.serial - before.serial), held + published, "the zone changed more often than it holds changes (one applied twice?)")
        XCTAssertGreaterThanOrEqual(held, acknowledged.count)
        let applied = try shared.audit(child: nil, limit: 1000).filter { $0.decision == "NOERROR" && $0.reason == "applied" }
        XCTAssertLessThanOrEqual(applied.count, held, "the audit shows more commits than the zone holds")
    }
}
