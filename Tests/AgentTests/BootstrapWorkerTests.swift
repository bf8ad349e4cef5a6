import Agent
import DNSWire
import DelegationCore
import Logging
import NIOConcurrencyHelpers
import SIG0
import Store
import Transport
import XCTest

/// The worker with fake child nameservers (an exchange function) and a fake clock: rounds are
/// run, persisted and audited; the key is promoted only after all rounds.
final class BootstrapWorkerTests: XCTestCase {
    let zoneName = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")
    let now: Int64 = 1_800_000_000

    func setUp(spoofAt spoofed: String?) throws -> (BootstrapWorker, SQLiteStore, BINDKeyFile, BINDKeyFile) {
        let configuration = try AgentConfiguration.parse(
            """
            version: 1
            zones:
              - name: parent.
                primary: { address: 127.0.0.1 }
                backend: { type: script, output: "-" }
                bootstrap: { rounds: 2, minimum-interval: 60 }
            """)
        let parent = FakeParent([
            try DelegationSnapshot(
                child: child,
                records: [
                    try Record("child.parent. 3600 IN NS ns1.child.parent."), try Record("child.parent. 3600 IN NS ns2.child.parent."),
                    try Record("ns1.child.parent. 3600 IN A 127.0.0.11"), try Record("ns2.child.parent. 3600 IN A 127.0.0.12"),
                    try Record("ns2.child.parent. 3600 IN AAAA ::1"),
                ])
        ])
        let store = try SQLiteStore.inMemory()
        let old = try BINDKeyFile.generate(owner: child)
        let new = try BINDKeyFile.generate(owner: child)
        let other = try BINDKeyFile.generate(owner: child)
        try store.putKey(
            StoredKey(
                zone: zoneName, child: child, keyTag: old.keyTag, algorithm: 15, rdata: old.keyData.rdata, state: .trusted, addedAt: now, origin: "import"))
        try store.putKey(
            StoredKey(zone: zoneName, child: child, keyTag: new.keyTag, algorithm: 15, rdata: new.keyData.rdata, state: .known, addedAt: now, origin: "upload"))
        try store.putBootstrap(
            KeyBootstrap(zone: zoneName, child: child, key: new.keyData.rdata, source: "127.0.0.1 (TCP)", now: now, policy: configuration.zones[0].bootstrap),
            now: now)
        let child = self.child
        let exchange: DNSExchange = { bytes, host, _, transport in
            XCTAssertEqual(transport, .tcp)
            let query = try Message(wire: bytes)
            XCTAssertFalse(query.header.rd)
            var reply = query.makeResponse()
            reply.header.aa = true
            let served = host == spoofed ? other : new
            reply.answer = [Record(name: child, type: .key, ttl: 30, rdata: served.keyData.rdata)]
            return try reply.wireFormat()
        }
        let worker = BootstrapWorker(configuration: configuration, store: store, reader: parent, exchange: exchange, logger: Logger(label: "test"))
        return (worker, store, old, new)
    }

    func testRoundsThenTrustedAndOldKeyRevoked() async throws {
        let (worker, store, old, new) = try setUp(spoofAt: nil)
        let first = await worker.runOnce(now: now)
        XCTAssertEqual(first, 0)
        XCTAssertEqual(try store.bootstraps(child: child, activeOnly: true).first?.rounds.count, 1)
        let early = await worker.runOnce(now: now + 30)
        XCTAssertEqual(early, 0, "round 2 is not due before the minimum interval")
        let second = await worker.runOnce(now: now + 60)
        XCTAssertEqual(second, 1)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: new.keyData.rdata))?.state, .trusted)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: old.keyData.rdata))?.state, .revoked)
        let audit = try store.audit(child: child, limit: 10).map(\.decision)
        XCTAssertEqual(audit, ["TRUSTED", "ROUND 2", "ROUND 1"])
        let rounds = try store.bootstraps(child: child, activeOnly: false).first?.rounds ?? []
        XCTAssertEqual(rounds.map { $0.observations.map(\.address) }, [["127.0.0.11", "127.0.0.12", "::1"], ["127.0.0.11", "127.0.0.12", "::1"]])
    }

    func testOneAddressServesAnotherKeyNeverTrusted() async throws {
        let (worker, store, old, new) = try setUp(spoofAt: "::1")
        await worker.runOnce(now: now)
        await worker.runOnce(now: now + 60)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: new.keyData.rdata))?.state, .known)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: old.keyData.rdata))?.state, .trusted)
        let job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: false).first)
        guard case .failed(let reason) = job.state else { return XCTFail("\(job.state)") }
        XCTAssertTrue(reason.contains("ns2.child.parent. at ::1 served key tag"), reason)
        XCTAssertEqual(try store.audit(child: child, limit: 10).first?.decision, "FAILED")
    }
}

extension BootstrapWorkerTests {
    /// confirmation: command — the command reads the job as JSON; exit 0 approves, else rejects.
    func testApprovalCommand() async throws {
        for (command, expected) in [(["/bin/sh", "-c", "grep -q '127.0.0.1 (TCP)'"], KeyTrustState.trusted), (["/bin/false"], .revoked)] {
            let (worker, store, _, new) = try setUp(spoofAt: nil)
            var job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: true).first)
            job.policy = BootstrapPolicy(rounds: 1, confirmation: .command, approvalCommand: command)
            try store.putBootstrap(job, now: now)
            await worker.runOnce(now: now)
            XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: new.keyData.rdata))?.state, expected, "\(command)")
        }
    }
}

extension BootstrapWorkerTests {
    /// A nameserver outside the child has no glue: its addresses come from the configured
    /// resolver; without one, the round fails and says why.
    func testOutOfBailiwickNameserverThroughTheResolver() async throws {
        let store = try SQLiteStore.inMemory()
        let key = try BINDKeyFile.generate(owner: child)
        let parent = FakeParent([
            try DelegationSnapshot(
                child: child,
                records: [
                    try Record("child.parent. 3600 IN NS ns1.child.parent."), try Record("child.parent. 3600 IN NS ns.provider.example."),
                    try Record("ns1.child.parent. 3600 IN A 127.0.0.11"),
                ])
        ])
        let child = self.child
        let exchange: DNSExchange = { bytes, host, _, _ in
            let query = try Message(wire: bytes)
            var reply = query.makeResponse()
            if host == "127.0.0.53" {
                XCTAssertTrue(query.header.rd)
                if query.question.first?.type == .a { reply.answer = [try Record("ns.provider.example. 60 IN A 127.0.0.99")] }
            } else {
                reply.header.aa = true
                reply.answer = [Record(name: child, type: .key, ttl: 30, rdata: key.keyData.rdata)]
            }
            return try reply.wireFormat()
        }
        for (resolver, expectTrusted) in [("\n      resolver: { address: 127.0.0.53 }", true), ("", false)] {
            let configuration = try AgentConfiguration.parse(
                """
                version: 1
                zones:
                  - name: parent.
                    primary: { address: 127.0.0.1 }
                    backend: { type: script, output: "-" }
                    bootstrap:
                      rounds: 1\(resolver)
                """)
            try store.putBootstrap(
                KeyBootstrap(zone: zoneName, child: child, key: key.keyData.rdata, source: "x", now: now, policy: configuration.zones[0].bootstrap), now: now)
            let worker = BootstrapWorker(configuration: configuration, store: store, reader: parent, exchange: exchange, logger: Logger(label: "test"))
            let promoted = await worker.runOnce(now: now)
            XCTAssertEqual(promoted == 1, expectTrusted)
            let job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: false).last)
            if expectTrusted {
                XCTAssertEqual(job.rounds.first?.observations.map(\.address), ["127.0.0.99", "127.0.0.11"])  // nameservers in canonical order
            } else {
                XCTAssertEqual(
                    job.state,
                    .failed(
                        reason:
                            "round 1: ns.provider.example. at - did not answer: no address known for ns.provider.example. (outside the child and no resolver configured)"
                    ))
            }
        }
    }
}
