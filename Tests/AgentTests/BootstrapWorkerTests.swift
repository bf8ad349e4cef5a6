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

    /// One parent zone whose bootstrap has `rounds` rounds 60 s apart, and `more` bootstrap keys
    /// (", key: value" each).
    func configuration(rounds: Int = 2, more: String = "") throws -> AgentConfiguration {
        try AgentConfiguration.parse(
            """
            version: 1
            zones:
              - name: parent.
                primary: { address: 127.0.0.1 }
                backend: { type: script, output: "-" }
                bootstrap: { rounds: \(rounds), minimum-interval: 60\(more) }
            """)
    }

    func setUp(spoofAt spoofed: String?, events: AgentEvents? = nil) throws -> (BootstrapWorker, SQLiteStore, BINDKeyFile, BINDKeyFile) {
        let configuration = try configuration()
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
        let worker = BootstrapWorker(
            configuration: configuration, store: store, reader: parent, exchange: exchange, logger: Logger(label: "test"), events: events)
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

/// Every round asks the same servers: the NS names and addresses of round 1 are pinned, and a
/// delegation that differs later fails the job saying what changed.
extension BootstrapWorkerTests {
    static let delegation = [
        "child.parent. 3600 IN NS ns1.child.parent.", "child.parent. 3600 IN NS ns2.child.parent.", "ns1.child.parent. 3600 IN A 127.0.0.11",
        "ns2.child.parent. 3600 IN A 127.0.0.12", "ns2.child.parent. 3600 IN AAAA ::1",
    ]

    /// One nameserver inside the child, one outside (addresses from the resolver).
    static let delegationWithOutsideNameserver = [
        "child.parent. 3600 IN NS ns1.child.parent.", "child.parent. 3600 IN NS ns.provider.example.", "ns1.child.parent. 3600 IN A 127.0.0.11",
    ]

    /// What the resolver at 127.0.0.53 answers to `ns.provider.example.` of a type: an RCODE and
    /// the answer records, or it throws (no answer).
    typealias ResolverScript = @Sendable (RRType) throws -> (RCode, [Record])

    /// A worker over `parent` for a fresh job whose key every address serves; with `resolver`,
    /// `bootstrap.resolver` is configured and answers as scripted.
    func worker(
        parent: FakeParent, rounds: Int = 2, resolver: ResolverScript? = nil, confirmation: String = "", method: BootstrapPolicy.Method = .unsigned
    ) throws -> (BootstrapWorker, SQLiteStore, BINDKeyFile) {
        let configuration = try configuration(rounds: rounds, more: (resolver == nil ? "" : ", resolver: { address: 127.0.0.53 }") + confirmation)
        let store = try SQLiteStore.inMemory()
        let key = try BINDKeyFile.generate(owner: child)
        try store.putKey(
            StoredKey(zone: zoneName, child: child, keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .known, addedAt: now, origin: "upload"))
        try store.putBootstrap(
            KeyBootstrap(
                zone: zoneName, child: child, key: key.keyData.rdata, source: "127.0.0.1 (TCP)", now: now, policy: configuration.zones[0].bootstrap,
                method: method),
            now: now)
        let child = self.child
        let exchange: DNSExchange = { bytes, host, _, _ in
            let query = try Message(wire: bytes)
            var reply = query.makeResponse()
            if host == "127.0.0.53", let resolver, let type = query.question.first?.type {
                XCTAssertTrue(query.header.rd)
                (reply.rcode, reply.answer) = try resolver(type)
            } else {
                reply.header.aa = true
                reply.answer = [Record(name: child, type: .key, ttl: 30, rdata: key.keyData.rdata)]
            }
            return try reply.wireFormat()
        }
        let worker = BootstrapWorker(configuration: configuration, store: store, reader: parent, exchange: exchange, logger: Logger(label: "test"))
        return (worker, store, key)
    }

    func snapshot(_ records: [String]) throws -> DelegationSnapshot {
        try DelegationSnapshot(child: child, records: records.map { try Record($0) })
    }

    func testDelegationChangedAfterRound1FailsTheJob() async throws {
        let changes: [(remove: [String], add: [String], reason: String)] = [
            ([], ["child.parent. 3600 IN NS ns3.child.parent.", "ns3.child.parent. 3600 IN A 127.0.0.13"], "NS ns3.child.parent. added"),
            (
                ["child.parent. 3600 IN NS ns2.child.parent.", "ns2.child.parent. 3600 IN A 127.0.0.12", "ns2.child.parent. 3600 IN AAAA ::1"], [],
                "NS ns2.child.parent. removed"
            ),
            (
                ["ns2.child.parent. 3600 IN A 127.0.0.12"], ["ns2.child.parent. 3600 IN A 127.0.0.22"],
                "addresses of ns2.child.parent. changed from 127.0.0.12, ::1 to 127.0.0.22, ::1"
            ),
        ]
        for change in changes {
            let parent = FakeParent([try snapshot(Self.delegation)])
            let (worker, store, key) = try worker(parent: parent)
            await worker.runOnce(now: now)
            XCTAssertEqual(try store.bootstraps(child: child, activeOnly: true).first?.rounds.map(\.failure), [nil])
            parent.set(try snapshot(Self.delegation.filter { !change.remove.contains($0) } + change.add))
            let promoted = await worker.runOnce(now: now + 60)
            XCTAssertEqual(promoted, 0, change.reason)
            XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: key.keyData.rdata))?.state, .known)
            let job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: false).first)
            guard case .failed(let reason) = job.state else {
                XCTFail("\(change.reason): \(job.state)")
                continue
            }
            XCTAssertTrue(reason.hasPrefix("round 2: the delegation of child.parent. in parent. changed since round 1: "), reason)
            XCTAssertTrue(reason.contains(change.reason), reason)
        }
    }

    /// The addresses the resolver gives a nameserver outside the child are pinned too: another
    /// address in round 2 fails the job. Round 1 pinned what it asked.
    func testResolvedAddressChangedFailsTheJob() async throws {
        let resolved = NIOLockedValueBox("127.0.0.99")
        let (worker, store, key) = try worker(parent: FakeParent([try snapshot(Self.delegationWithOutsideNameserver)])) { type in
            (.noError, type == .a ? [try Record("ns.provider.example. 60 IN A \(resolved.withLockedValue { $0 })")] : [])
        }
        await worker.runOnce(now: now)
        let pinned = try XCTUnwrap(store.bootstraps(child: child, activeOnly: true).first?.pinnedDelegation)
        XCTAssertEqual(
            pinned.nameservers.map { "\($0.name) \($0.addresses)" }, ["ns.provider.example. [\"127.0.0.99\"]", "ns1.child.parent. [\"127.0.0.11\"]"])
        resolved.withLockedValue { $0 = "127.0.0.98" }
        await worker.runOnce(now: now + 60)
        let job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: false).first)
        XCTAssertEqual(
            job.state,
            .failed(
                reason:
                    "round 2: the delegation of child.parent. in parent. changed since round 1: addresses of ns.provider.example. changed from 127.0.0.99 to 127.0.0.98"
            ))
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: key.keyData.rdata))?.state, .known)
    }

    /// A resolver lookup that fails (SERVFAIL, REFUSED, no answer) fails the round; only a clean
    /// NOERROR without addresses (or NXDOMAIN) means the name has none of that family.
    func testFailedResolverLookupFailsTheRound() async throws {
        for (failure, expected) in [(RCode.servFail, "SERVFAIL"), (.refused, "REFUSED"), (nil, "timeout")] {
            let (worker, store, _) = try worker(parent: FakeParent([try snapshot(Self.delegationWithOutsideNameserver)]), rounds: 1) { type in
                if type == .a { return (.noError, [try Record("ns.provider.example. 60 IN A 127.0.0.99")]) }
                guard let failure else { throw ResolverTimeout() }
                return (failure, [])
            }
            let promoted = await worker.runOnce(now: now)
            XCTAssertEqual(promoted, 0, expected)
            let job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: false).first)
            guard case .failed(let reason) = job.state else {
                XCTFail("\(expected): \(job.state)")
                continue
            }
            XCTAssertTrue(
                reason.hasPrefix(
                    "round 1: ns.provider.example. at - did not answer: no address known for ns.provider.example. (the resolver 127.0.0.53 could not look up ns.provider.example. AAAA: "
                ),
                reason)
            XCTAssertTrue(reason.contains(expected), reason)
            XCTAssertNil(job.pinnedDelegation, "an incomplete delegation is not pinned")
        }
    }
}

/// What `DNSClient` throws when the resolver does not answer in time.
struct ResolverTimeout: Error, CustomStringConvertible {
    var description: String { "127.0.0.53:53 over tcp: timeout: no answer within 5 s" }
}

/// The manual method is an operator's act: the approval command never decides a manual job
/// (it confirms the source of an `unsigned` job, after its rounds have passed).
extension BootstrapWorkerTests {
    func testApprovalCommandDoesNotApproveAManualJob() async throws {
        let (worker, store, key) = try worker(
            parent: FakeParent([try snapshot(Self.delegation)]), confirmation: ", confirmation: command, approval-command: [/bin/true]", method: .manual)
        for minutes in 0..<3 { await worker.runOnce(now: now + Int64(minutes) * 60) }
        let job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: false).first)
        XCTAssertEqual(job.state, .awaitingConfirmation)
        XCTAssertTrue(job.rounds.isEmpty)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: key.keyData.rdata))?.state, .known)
        XCTAssertEqual(try store.audit(child: child, limit: 10).map(\.decision), [])
    }
}
