import DNSWire
import Foundation
import SIG0
import Store
import TestSupport
import XCTest

/// The lab's other scenarios, driven by the child agent against `delegsync serve` and real
/// nameservers (BIND parent, BIND/NSD children): a spoofed bootstrap (one child server serves
/// another key), a parent outage during a sync (the change is applied once after the primary
/// returns), and an agent restart during a bootstrap (the job resumes). Each asserts what the
/// parent serves, read with dig.
final class ChildScenarioIntegrationTests: XCTestCase {
    /// The parent zone: apex, the wildcard DSYNC naming the agent on 127.0.0.1, the delegation.
    static func parentZone(agentPort: Int, nameservers: [(String, String)], extra: String = "") -> String {
        let dsync = DSYNCData(rrType: .any, scheme: .update, port: UInt16(agentPort), target: try! DomainName("agent.parent."))
        var text = Lab.apex + "*._dsync.parent.\t3600\tIN\tTYPE66\t\\# \(dsync.rdata.count) \(dsync.rdata.map { String(format: "%02X", $0) }.joined())\n"
        text += "agent.parent.\t3600\tIN\tA\t127.0.0.1\n" + extra
        for (name, address) in nameservers {
            text += "child.parent.\t3600\tIN\tNS\t\(name).child.parent.\n\(name).child.parent.\t3600\tIN\tA\t\(address)\n"
        }
        return text
    }

    /// A child agent configuration in a fresh directory; returns the directory and the file.
    static func childConfig(resolver: LabServer, primary: String, servers: [String]? = nil, publish: String = "{ type: print }") throws -> (String, String) {
        let directory = try Tool.temporaryDirectory("child-agent")
        let config = "\(directory)/child.yaml"
        let serverList = servers.map { "\n    servers: [" + $0.map { "{ address: \($0), port: 53 }" }.joined(separator: ", ") + "]" } ?? ""
        try """
        version: 1
        store: { path: \(directory)/child.sqlite }
        key-directory: \(directory)/keys
        resolver: { address: \(resolver.address), port: \(resolver.port) }
        children:
          - name: child.parent.
            primary: { address: \(primary), port: 53 }\(serverList)
            publish: \(publish)
            parent-servers: [{ address: \(resolver.address), port: \(resolver.port) }]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return (directory, config)
    }

    static func child(_ config: String, _ arguments: String...) throws -> Tool.Result {
        try Tool.run(ServeIntegrationTests.binary, ["child"] + arguments + ["--config", config, "child.parent."])
    }

    /// A new key in the child agent's directory, and its KEY record as zone file text.
    static func keygen(_ config: String, _ directory: String) throws -> String {
        let made = try child(config, "keygen")
        XCTAssertEqual(made.status, 0, made.stderr)
        let base = made.stdout.split(separator: "\n")[0]
        return "child.parent. IN KEY " + (try BINDKeyFile.load(path: base + ".key").record.rdataPresentation)
    }

    /// BIND serving the parent zone on 127.0.0.`base` (with `extra` records) and `delegsync
    /// serve` in front of it (2 bootstrap rounds, `interval` seconds apart; the parent server is
    /// also its resolver, for nameservers outside the child).
    static func parentAndAgent(base: Int, nameservers: [(String, String)], interval: Int, extra: String = "") async throws -> (
        LabServer, ServeIntegrationTests.Agent
    ) {
        let parent = try LabServer.bind(
            zone: "parent.", zoneFileText: parentZone(agentPort: 15400 + base, nameservers: nameservers, extra: extra), address: "127.0.0.\(base)",
            port: 15300 + base)
        do {
            let agent = try await ServeIntegrationTests.startAgent(
                parent: parent, port: 15400 + base,
                backend:
                    "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }\n    bootstrap: { rounds: 2, minimum-interval: \(interval), maximum-interval: \(max(2, interval)), resolver: { address: \(parent.address), port: \(parent.port) } }",
                importKey: false)
            return (parent, agent)
        } catch {
            parent.stop()
            throw error
        }
    }

    static func stop(_ parent: LabServer, _ agent: ServeIntegrationTests.Agent) {
        agent.stop()
        try? FileManager.default.removeItem(atPath: agent.directory)
        parent.stop()
    }

    static func childZone(_ serial: UInt32, _ records: [String]) -> String {
        "$TTL 1\nchild.parent. IN SOA ns1.child.parent. hostmaster.child.parent. \(serial) 3600 900 604800 1\n" + records.joined(separator: "\n") + "\n"
    }

    /// ns2 serves another KEY: the parent's rounds fail, the child's bootstrap ends with exit 4
    /// and the parent's reason naming the server; the parent's `status` names it too, and the
    /// delegation is unchanged.
    func testSpoofedBootstrapIsNeverTrusted() async throws {
        try Lab.skipUnlessAvailable(.bind)
        try Lab.skipUnlessAvailable(.nsd)
        let base = 235
        let ns1 = "127.0.0.\(base + 1)", ns2 = "127.0.0.\(base + 2)"
        let (parent, agent) = try await Self.parentAndAgent(base: base, nameservers: [("ns1", ns1), ("ns2", ns2)], interval: 1)
        defer { Self.stop(parent, agent) }
        // The child agent only sees ns1 (its configured servers); the parent asks both.
        let (directory, config) = try Self.childConfig(resolver: parent, primary: ns1, servers: [ns1])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyRecord = try Self.keygen(config, directory)
        let otherRecord = "child.parent. IN KEY " + (try BINDKeyFile.generate(owner: DomainName("child.parent.")).record.rdataPresentation)
        let apex = [
            "child.parent. IN NS ns1.child.parent.", "child.parent. IN NS ns2.child.parent.", "ns1.child.parent. IN A \(ns1)", "ns2.child.parent. IN A \(ns2)",
        ]
        let good = try LabServer.nsd(zone: "child.parent.", zoneFileText: Self.childZone(1, apex + [keyRecord]), address: ns1, port: 53)
        defer { good.stop() }
        let spoofed = try LabServer.bind(zone: "child.parent.", zoneFileText: Self.childZone(1, apex + [otherRecord]), address: ns2, port: 53, tsigKeyName: nil)
        defer { spoofed.stop() }
        let before = try Lab.served(parent)

        let bootstrap = try Self.child(config, "bootstrap", "--wait", "30", "--poll", "1")
        XCTAssertEqual(bootstrap.status, 4, bootstrap.stdout + bootstrap.stderr + agent.logText)
        XCTAssertTrue(bootstrap.stderr.contains("the parent will not trust key"), bootstrap.stderr)
        XCTAssertTrue(bootstrap.stdout.contains("ns2.child.parent. at \(ns2) served key tag"), bootstrap.stdout)
        let status = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout
        XCTAssertTrue(status.contains("failed: round 1: ns2.child.parent. at \(ns2) served key tag"), status)
        XCTAssertFalse(status.contains(": trusted"), status)
        let after = try Lab.served(parent)
        XCTAssertEqual(after.ns, before.ns)
        XCTAssertEqual(after.serial, before.serial)
    }

    /// The parent's primary stops after the bootstrap; the child reads the delegation from a
    /// secondary and sends its change: SERVFAIL (kept in the outbox), retried, exit 1. When the
    /// primary is back, the outbox applies the change exactly once; the next sync is in step.
    func testParentOutageDuringSyncIsAppliedOnceLater() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let base = 240
        let primaryAddress = "127.0.0.\(base)", secondaryAddress = "127.0.0.\(base + 1)", ns1 = "127.0.0.\(base + 2)", ns2 = "127.0.0.\(base + 3)"
        let zoneText = Self.parentZone(agentPort: 15400 + base, nameservers: [("ns1", ns1)])
        var primary = try LabServer.bind(
            zone: "parent.", zoneFileText: zoneText, address: primaryAddress, port: 15300 + base, notify: (secondaryAddress, 15300 + base + 1))
        let secret = primary.tsigSecret
        defer { primary.stop() }
        let secondary = try LabServer.bindSecondary(
            zone: "parent.", primary: (primaryAddress, 15300 + base), address: secondaryAddress, port: 15300 + base + 1)
        defer { secondary.stop() }
        // The key file outlives the primary's directory (the agent's configuration names it).
        let keyCopy = try Tool.temporaryDirectory("tsig")
        defer { try? FileManager.default.removeItem(atPath: keyCopy) }
        try FileManager.default.copyItem(atPath: primary.tsigKeyFile!, toPath: "\(keyCopy)/tsig.key")
        let agent = try await ServeIntegrationTests.startAgent(
            parent: primary, port: 15400 + base,
            backend: "{ type: rfc2136, tsig-key-file: \(keyCopy)/tsig.key }\n    bootstrap: { rounds: 1, minimum-interval: 1 }", importKey: false)
        defer {
            agent.stop()
            try? FileManager.default.removeItem(atPath: agent.directory)
        }
        // The child agent reads its apex from ns1 only; NSD answers on ns2's address too, since
        // the parent's agent asks every nameserver before it commits the change (content checks).
        let (directory, config) = try Self.childConfig(resolver: secondary, primary: ns1, servers: [ns1])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyRecord = try Self.keygen(config, directory)
        var records = ["child.parent. IN NS ns1.child.parent.", "ns1.child.parent. IN A \(ns1)", keyRecord]
        let child = try LabServer.nsd(zone: "child.parent.", zoneFileText: Self.childZone(1, records), address: ns1, port: 53, alsoListenOn: [ns2])
        defer { child.stop() }
        let bootstrap = try Self.child(config, "bootstrap", "--wait", "30", "--poll", "1")
        XCTAssertEqual(bootstrap.status, 0, bootstrap.stdout + bootstrap.stderr + agent.logText)

        // The primary goes away; the secondary still serves the zone.
        primary.stop()
        records += ["child.parent. IN NS ns2.child.parent.", "ns2.child.parent. IN A \(ns2)"]
        try child.reload(zoneFileText: Self.childZone(2, records))
        let sync = try Self.child(config, "sync", "--attempts", "2")
        XCTAssertEqual(sync.status, 1, sync.stdout + sync.stderr)
        XCTAssertTrue(sync.stderr.contains("gave up after 2 attempts"), sync.stderr)
        XCTAssertTrue(sync.stderr.contains("SERVFAIL (EDE 22"), sync.stderr)
        let waiting = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config])
        XCTAssertTrue(waiting.stdout.contains("outbox: 2 change(s) waiting"), waiting.stdout + waiting.stderr)

        // The primary returns (same address, port, TSIG key; the zone as it was first loaded).
        primary = try LabServer.bind(
            zone: "parent.", zoneFileText: zoneText, address: primaryAddress, port: 15300 + base, tsigSecret: secret,
            notify: (secondaryAddress, 15300 + base + 1))
        var applied = false
        for _ in 0..<60 where !applied {
            try await Task.sleep(for: .milliseconds(500))
            applied = try Lab.served(primary).ns.contains("child.parent. ns ns2.child.parent.")
        }
        XCTAssertTrue(applied, "the outbox did not apply the change: \(agent.logText)")
        try await Task.sleep(for: .seconds(3))
        let served = try Lab.served(primary)
        XCTAssertEqual(served.serial, Lab.serial + 1, "applied more than once")
        XCTAssertEqual(served.ns, ["child.parent. ns ns1.child.parent.", "child.parent. ns ns2.child.parent."])
        XCTAssertEqual(served.glue, ["ns1.child.parent. a \(ns1)", "ns2.child.parent. a \(ns2)"])
        let drained = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config])
        XCTAssertTrue(drained.stdout.contains("outbox: 0 change(s) waiting"), drained.stdout + drained.stderr)
    }

    /// `delegsync serve` is stopped during the bootstrap and started again: the job resumes
    /// from the store (round 1 is not run twice) and the key becomes trusted; `child sync
    /// --wait` waits for that and then sends the child's change.
    func testAgentRestartDuringBootstrapResumes() async throws {
        try Lab.skipUnlessAvailable(.bind)
        try Lab.skipUnlessAvailable(.nsd)
        let base = 245
        let ns1 = "127.0.0.\(base + 1)"
        // ns.provider.parent. (outside the child) points at the child's server.
        let (parent, agent) = try await Self.parentAndAgent(
            base: base, nameservers: [("ns1", ns1)], interval: 15, extra: "ns.provider.parent.\t3600\tIN\tA\t\(ns1)\n")
        defer { Self.stop(parent, agent) }
        let (directory, config) = try Self.childConfig(resolver: parent, primary: ns1, servers: [ns1])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyRecord = try Self.keygen(config, directory)
        let records = ["child.parent. IN NS ns1.child.parent.", "ns1.child.parent. IN A \(ns1)", keyRecord]
        let child = try LabServer.nsd(zone: "child.parent.", zoneFileText: Self.childZone(1, records), address: ns1, port: 53)
        defer { child.stop() }

        let first = try Self.child(config, "bootstrap", "--wait", "2", "--poll", "1")
        XCTAssertEqual(first.status, 3, first.stdout + first.stderr)
        XCTAssertTrue(first.stdout.contains("pending: key"), first.stdout)
        var status = ""
        for _ in 0..<40 {
            status = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout
            if status.contains("round 1 of 2 passed") { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        XCTAssertTrue(status.contains("next: round 2 of 2"), status)
        agent.process.terminate()
        agent.process.waitUntilExit()
        XCTAssertEqual(agent.process.terminationStatus, 0, "serve did not stop cleanly on SIGTERM")
        agent.process = try await ServeIntegrationTests.launchServe(config: agent.config, port: agent.port, log: agent.log)

        // Meanwhile the child adds a nameserver; `sync --wait` sees "known but not yet trusted",
        // follows the bootstrap to its end, then sends the change.
        try child.reload(zoneFileText: Self.childZone(2, records + ["child.parent. IN NS ns.provider.parent."]))
        let second = try Self.child(config, "sync", "--wait", "45")
        XCTAssertEqual(second.status, 0, second.stdout + second.stderr + agent.logText)
        XCTAssertTrue(second.stdout.contains("waiting up to"), second.stdout)
        XCTAssertTrue(second.stdout.contains("applied: the parent committed the change"), second.stdout)
        XCTAssertTrue(try Lab.served(parent).ns.contains("child.parent. ns ns.provider.parent."))
        status = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout
        XCTAssertTrue(status.contains(": trusted, from bootstrap"), status)
        XCTAssertEqual(status.components(separatedBy: "round 1 of 2 passed").count, 2, "round 1 ran twice: \(status)")
        XCTAssertTrue(status.contains("round 2 of 2 passed"), status)
        // The parent serves the trusted KEY at the delegation (BIND answers it).
        XCTAssertFalse(try parent.dig(["+short", "child.parent.", "KEY"]).isEmpty)
    }
}
