import Agent
import Backends
import DNSWire
import DelegationCore
import Foundation
import Logging
import SIG0
import Store
import TestSupport
import Transport
import XCTest

/// Issue 10: trust that no stranger can move. Each test plays the attacker of DESIGN.md's
/// threat table against the receiver with the child's trusted key in place; colliding key tags
/// are made by brute force (``CollidingKey``), as an attacker would.
extension UpdateReceiverTests {
    func context(_ address: String) -> DNSRequestContext {
        DNSRequestContext(sourceAddress: address, sourcePort: 4000, transport: .tcp)
    }

    func ask(_ agent: UpdateReceiver, _ bytes: [UInt8], from source: DNSRequestContext? = nil) async throws -> Message {
        let reply = await agent.handle(bytes, context: source ?? tcp)
        return try Message(wire: XCTUnwrap(reply))
    }

    var keyIdentity: KeyIdentity { KeyIdentity(zone: zoneName, child: child, rdata: key.keyData.rdata) }

    func addNS(_ name: String) throws -> [Update.Operation] {
        [.add(try Record("example.example. 60 IN NS \(name)"))]
    }

    /// Point 1: an upload whose key merely shares the trusted key's tag, then rejected (by the
    /// approval command's path), revoked the trusted key on the old code (`setKeyState` by tag).
    func testRejectingACollidingUploadDoesNotRevokeTheTrustedKey() async throws {
        let attacker = try CollidingKey.make(owner: child, tag: key.keyTag, notRDATA: key.keyData.rdata)
        let uploaded = try await send(upload(attacker), context: context("203.0.113.5"))
        XCTAssertEqual(uploaded.rcode, .noError, uploaded.edns?.extendedError?.extraText ?? "")
        var job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: true).first { $0.key == attacker.keyData.rdata })
        job.reject(now: now)
        try BootstrapWorker.reject(job, zone: zoneName, child: child, store: store)
        try store.putBootstrap(job, now: now)
        XCTAssertEqual(try store.key(keyIdentity)?.state, .trusted)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: attacker.keyData.rdata))?.state, .revoked)
        let reply = try await send(signed(addNS("ns.provider2.net."), at: now + 1))
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
    }

    /// Point 1, the signed path: an UPDATE signed by the attacker's colliding key (uploaded, so
    /// known) is never verified against nor confused with the trusted key, and the child's own
    /// UPDATE with the same tag still verifies.
    func testACollidingKnownKeyDoesNotShadowTheTrustedKey() async throws {
        let attacker = try CollidingKey.make(owner: child, tag: key.keyTag, notRDATA: key.keyData.rdata)
        _ = try await send(upload(attacker), context: context("203.0.113.5"))
        let forged = try SIG0Signer(keyFile: attacker).sign(update(addNS("ns.evil.net.")), now: UInt32(now))
        let refused = try await send(forged)
        XCTAssertEqual(refused.rcode, .badSig)
        XCTAssertFalse(parent.snapshot(child)!.nameservers.contains(try DomainName("ns.evil.net.")))
        let reply = try await send(signed(addNS("ns.provider2.net."), at: now + 1))
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
    }

    /// Point 2: 19 filler uploads and one colliding upload used to spend the child's own hourly
    /// budget, so the genuine child's upload was refused and only the attacker's job remained
    /// for the operator to approve by tag. Now strangers spend their own budgets: the flood is
    /// cut off at its source, the child's upload from elsewhere starts its job, and its signed
    /// UPDATEs still pass.
    func testAnUploadFloodSpendsOnlyTheStrangersBudgets() async throws {
        var refusedByBudget = 0
        for index in 0..<20 {
            let filler = try BINDKeyFile.generate(owner: child)
            let reply = try await send(upload(filler, at: now + Int64(index)), context: context("203.0.113.5"))
            if reply.edns?.extendedError?.infoCode == DelegationEDE.blocked { refusedByBudget += 1 }
        }
        XCTAssertGreaterThanOrEqual(refusedByBudget, 10, "per source: at most 10 uploads an hour, at most 2 pending jobs")
        XCTAssertLessThanOrEqual(try store.bootstraps(child: child, activeOnly: true).count, 2)
        let genuine = try BINDKeyFile.generate(owner: child)
        let reply = try await send(upload(genuine), context: context("198.51.100.7"))
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertTrue(try store.bootstraps(child: child, activeOnly: true).contains { $0.key == genuine.keyData.rdata })
        for index in 0..<5 {
            let update = try await send(signed(addNS("ns\(index).provider.net."), at: now + Int64(index)))
            XCTAssertEqual(update.rcode, .noError, update.edns?.extendedError?.extraText ?? "")
        }
    }

    /// Point 3: an upload with an inception near the end of the skew used to set the replay state
    /// shared by (zone, child, tag), so the child's next UPDATE was "older than the last
    /// accepted" for ten minutes. Replay state is per key identity now.
    func testAnUploadCannotTouchTheTrustedKeysReplayState() async throws {
        let attacker = try CollidingKey.make(owner: child, tag: key.keyTag, notRDATA: key.keyData.rdata)
        let uploaded = try await send(upload(attacker, at: now + 290), context: context("203.0.113.5"))
        XCTAssertEqual(uploaded.rcode, .noError, uploaded.edns?.extendedError?.extraText ?? "")
        let reply = try await send(signed(addNS("ns.provider2.net."), at: now))
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
    }

    /// Point 3: uploads for names the parent does not delegate create no job.
    func testAnUploadForANameThatIsNotDelegatedCreatesNoJob() async throws {
        let stranger = try DomainName("nothere.example.")
        let keyFile = try BINDKeyFile.generate(owner: stranger)
        var update = Update(zone: zoneName)
        update.deleteRRset(stranger, .key)
        update.add(keyFile.record)
        let bytes = try SIG0Signer(keyFile: keyFile).sign(update.message(id: 5, edns: EDNS()).wireFormat(), now: UInt32(now))
        let reply = try await send(bytes)
        XCTAssertEqual(reply.rcode, .refused)
        XCTAssertTrue(reply.edns?.extendedError?.extraText.contains("not delegated") == true)
        XCTAssertTrue(try store.bootstraps(child: stranger, activeOnly: false).isEmpty)
        XCTAssertTrue(try store.keys(zone: zoneName, child: stranger).isEmpty)
    }

    /// Point 5: the seen-signature cache and the rate limit lived in memory: after a restart the
    /// same signed UPDATE was accepted again. With a file store and a new receiver (a restart),
    /// the replay is refused and the hourly budget carries over.
    func testReplayAndBudgetSurviveARestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("delegsync-restart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        var limited = configuration!
        limited.limits.updatesPerChildPerHour = 2
        func start() throws -> (UpdateReceiver, SQLiteStore) {
            let fileStore = try SQLiteStore(path: path)
            let clock: @Sendable () -> Int64 = { [now] in now }
            return (
                UpdateReceiver(
                    configuration: limited, store: fileStore, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: clock, logger: Logger(label: "test")),
                fileStore
            )
        }
        let first = try signed(addNS("ns.provider2.net."))
        do {
            let (agent, fileStore) = try start()
            try fileStore.putKey(
                StoredKey(
                    zone: zoneName, child: child, keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .trusted, addedAt: now, origin: "import"))
            let reply = try await ask(agent, first)
            XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
            let second = try await ask(agent, try signed(addNS("ns.provider3.net."), at: now + 1))
            XCTAssertEqual(second.rcode, .noError)
        }
        let (agent, fileStore) = try start()
        let replayed = try await ask(agent, first)
        XCTAssertEqual(replayed.rcode, .refused)
        XCTAssertTrue(replayed.edns?.extendedError?.extraText.contains("replayed") == true, replayed.edns?.extendedError?.extraText ?? "")
        let third = try await ask(agent, try signed(addNS("ns.provider4.net."), at: now + 2))
        XCTAssertEqual(third.edns?.extendedError?.infoCode, DelegationEDE.blocked, third.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(parent.appliedCount, 2, "each change applied once")
        XCTAssertEqual(try fileStore.pendingCount(), 0)
    }

    /// Point 6: a change signed by a key and waiting in the outbox was applied after the key was
    /// revoked. Revocation now cancels it (and the worker refuses a change whose signer is no
    /// longer trusted); a change past its deadline is given up and audited.
    func testRevocationCancelsQueuedChangesAndDeadlinesEnd() async throws {
        parent.reachable = false
        let queued = try await send(signed(addNS("ns.provider2.net.")))
        XCTAssertEqual(queued.rcode, .servFail)
        XCTAssertEqual(try store.pendingCount(), 1)
        XCTAssertEqual(try store.setKeyState(keyIdentity, state: .revoked), KeyStateChange(found: true, cancelledChanges: 1))
        parent.reachable = true
        let worker = OutboxWorker(configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, logger: Logger(label: "test"))
        let applied = await worker.runOnce(now: now + 3600)
        XCTAssertEqual(applied, 0)
        XCTAssertFalse(parent.snapshot(child)!.nameservers.contains(try DomainName("ns.provider2.net.")))

        // Trusted again (say, imported anew): a queued change that outlives its deadline.
        try store.setKeyState(keyIdentity, state: .trusted)
        parent.reachable = false
        let late = try await send(signed(addNS("ns.provider3.net."), at: now + 1))
        XCTAssertEqual(late.rcode, .servFail)
        parent.reachable = true
        let appliedLate = await worker.runOnce(now: now + configuration.limits.changeDeadline + 60)
        XCTAssertEqual(appliedLate, 0)
        XCTAssertEqual(try store.pendingCount(), 0)
        XCTAssertFalse(parent.snapshot(child)!.nameservers.contains(try DomainName("ns.provider3.net.")))
        XCTAssertEqual(try store.audit(child: child, limit: 1).first?.decision, "GIVEN UP")
    }
}

/// A backend whose primary refuses the content (say FORMERR): a permanent error.
struct RefusingBackend: DelegationBackend {
    var description: String { "refusing backend" }
    func apply(_ update: Update) async throws { throw BackendError("the primary answered FORMERR", permanent: true) }
}

extension UpdateReceiverTests {
    /// Point 6: a change the primary refuses for its content is given up at once — REFUSED to
    /// the child, failed in the outbox — instead of being retried forever.
    func testAPermanentBackendErrorIsNotRetried() async throws {
        let refusing = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: RefusingBackend()], reader: parent, contentProbe: probe, clock: { [now] in now },
            logger: Logger(label: "test"))
        let bytes = try signed(addNS("ns.provider2.net."))
        let reply = try await ask(refusing, bytes)
        XCTAssertEqual(reply.rcode, .refused)
        XCTAssertTrue(reply.edns?.extendedError?.extraText.contains("not retried") == true, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(try store.pendingCount(), 0)
    }
}

/// Issue 11, UDP: replies to what nobody authenticated are never larger than the request (no
/// amplification towards a spoofed source), and a signed UPDATE over UDP costs no verification:
/// it gets TC=1 and the child retries over TCP.
extension UpdateReceiverTests {
    var udp: DNSRequestContext { DNSRequestContext(sourceAddress: "192.0.2.99", sourcePort: 53, transport: .udp) }

    func testUDPRepliesAreNeverLargerThanTheRequest() async throws {
        var query = Message(question: [Question(name: try DomainName("a.b"), type: .soa)], edns: EDNS())
        query.id = 5
        let bytes = try query.wireFormat()
        let answered = await receiver.handle(bytes, context: udp)
        let reply = try XCTUnwrap(answered)
        XCTAssertLessThanOrEqual(reply.count, bytes.count)
        XCTAssertTrue(try Message(wire: reply).header.tc)
        // The same over TCP gets the full answer with its EDE.
        let overTCP = await receiver.handle(bytes, context: tcp)
        let full = try XCTUnwrap(overTCP)
        XCTAssertNotNil(try Message(wire: full).edns?.extendedError)
    }

    func testASignedUpdateOverUDPIsTruncatedWithoutVerification() async throws {
        let metrics = AgentMetrics()
        let agent = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: { [now] in now }, logger: Logger(label: "test"),
            metrics: metrics)
        let bytes = try signed(addNS("ns.provider2.net."))
        let truncated = await agent.handle(bytes, context: udp)
        let reply = try Message(wire: XCTUnwrap(truncated))
        XCTAssertTrue(reply.header.tc)
        XCTAssertEqual(reply.rcode, .noError)
        XCTAssertTrue(metrics.exposition(store: store).contains("delegsync_sig0_verifications_total{result=\"verified\"} 0"))
        XCTAssertFalse(parent.snapshot(child)!.nameservers.contains(try DomainName("ns.provider2.net.")))
        // With limits.udp-updates: answer, it is decided as over TCP.
        var answering = configuration!
        answering.limits.udpUpdates = .answer
        let decided = UpdateReceiver(
            configuration: answering, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: { [now] in now }, logger: Logger(label: "test"))
        let answer = await decided.handle(bytes, context: udp)
        let applied = try Message(wire: XCTUnwrap(answer))
        XCTAssertEqual(applied.rcode, .noError)
        XCTAssertFalse(applied.header.tc)
        XCTAssertTrue(parent.snapshot(child)!.nameservers.contains(try DomainName("ns.provider2.net.")))
    }
}

/// Issue 11, bounded state: every unsigned packet used to write an audit row (70,000 rows in ten
/// seconds of flooding). Refusals of unauthenticated requests are now one row per kind, source
/// and minute with a count; authenticated requests keep a row each.
extension UpdateReceiverTests {
    func testUnauthenticatedRefusalsAreAggregated() async throws {
        let audits = AuditAggregator()
        let agent = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: { [now] in now }, logger: Logger(label: "test"),
            audits: audits)
        let unsigned = try update(addNS("ns.evil.net."))
        for _ in 0..<500 { _ = await agent.handle(unsigned, context: context("203.0.113.5")) }
        for _ in 0..<500 { _ = await agent.handle(unsigned, context: context("203.0.113.6")) }
        let rows = try store.audit(child: nil, limit: 10_000)
        XCTAssertEqual(rows.count, 2, "one row per source and kind, written at once")
        // Two authenticated requests: a row each.
        _ = await agent.handle(try signed(addNS("ns.provider2.net.")), context: tcp)
        _ = await agent.handle(try signed(addNS("ns.provider3.net."), at: now + 1), context: tcp)
        XCTAssertEqual(try store.audit(child: nil, limit: 10_000).count, 4)
        agent.flushAudit(now: nil)
        let counted = try store.audit(child: nil, limit: 10_000).filter { $0.decision == "REFUSED" }
        XCTAssertEqual(counted.map(\.count).sorted(), [500, 500])
        // Spoofed sources beyond the per-minute kinds share one row.
        for index in 0..<300 { _ = await agent.handle(unsigned, context: context("198.51.100.\(index % 250)")) }
        agent.flushAudit(now: nil)
        XCTAssertLessThanOrEqual(try store.audit(child: nil, limit: 10_000).count, 4 + 101)
    }
}

/// Issue 11, bounded crypto: a source sending forged signatures over TCP under the child's name
/// and tag used to get one verification per request, without limit. Now each source has a
/// verification budget counted before the crypto; another source is not affected.
extension UpdateReceiverTests {
    func testForgedSignaturesSpendOnlyTheirSourcesVerificationBudget() async throws {
        let metrics = AgentMetrics()
        var limited = configuration!
        limited.limits.verificationsPerSourcePerSecond = 10
        let agent = UpdateReceiver(
            configuration: limited, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: { [now] in now },
            logger: Logger(label: "test"), metrics: metrics)
        let forger = try CollidingKey.make(owner: child, tag: key.keyTag, notRDATA: key.keyData.rdata)
        var budgetRefusals = 0
        for index in 0..<40 {
            let forged = try SIG0Signer(keyFile: forger).sign(update(addNS("ns.evil\(index).net.")), now: UInt32(now))
            let reply = try await ask(agent, forged, from: context("203.0.113.5"))
            if reply.edns?.extendedError?.infoCode == DelegationEDE.blocked { budgetRefusals += 1 }
        }
        XCTAssertEqual(budgetRefusals, 30, "10 verifications for one source this second, the other 30 refused before any crypto")
        let exposition = metrics.exposition(store: store)
        XCTAssertTrue(exposition.contains("delegsync_sig0_verifications_total{result=\"rejected\"} 10"), exposition)
        let genuine = try await ask(agent, try signed(addNS("ns.provider2.net.")), from: context("198.51.100.7"))
        XCTAssertEqual(genuine.rcode, .noError, genuine.edns?.extendedError?.extraText ?? "")
    }
}
