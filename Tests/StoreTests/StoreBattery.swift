import DNSWire
import DelegationCore
import Foundation
import XCTest

@testable import Store

/// The store test battery: every test here runs against each store, through a subclass that
/// says how to make one (``SQLiteStoreTests``, ``PostgresStoreIntegrationTests``). The base
/// class itself makes no store: its own run of the battery is skipped.
class StoreBattery: XCTestCase {
    /// A new, empty store of the kind under test.
    func makeStore() throws -> any DelegationStore {
        throw XCTSkip("StoreBattery is the battery; its subclasses run it against each store")
    }

    /// Another instance on the same storage as `store` (a second agent process), or nil when the
    /// kind cannot have one.
    func secondInstance(of store: any DelegationStore) throws -> (any DelegationStore)? { nil }

    /// Makes `store` refuse to insert an audit row whose reason is `reason` (a trigger).
    func refuseAuditRows(reasoned reason: String, in store: any DelegationStore) throws {
        throw XCTSkip("this store cannot be made to refuse a row")
    }

    let parent = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")
    let other = try! DomainName("other.parent.")

    func key(
        _ tag: UInt16, child: DomainName? = nil, rdata: [UInt8] = [1, 0, 3, 15, 0xAA], state: KeyTrustState = .known, addedAt: Int64 = 1000,
        origin: String = "import"
    ) -> StoredKey {
        StoredKey(zone: parent, child: child ?? self.child, keyTag: tag, algorithm: 15, rdata: rdata, state: state, addedAt: addedAt, origin: origin)
    }

    func id(_ rdata: [UInt8] = [1, 0, 3, 15, 0xAA], child: DomainName? = nil) -> KeyIdentity {
        KeyIdentity(zone: parent, child: child ?? self.child, rdata: rdata)
    }

    // MARK: Trust store

    func testPutAndGetKey() throws {
        let store = try makeStore()
        XCTAssertNil(try store.key(id()))
        try store.putKey(key(1))
        XCTAssertEqual(try store.key(id()), key(1))
        XCTAssertNil(try store.key(id([1, 0, 3, 15, 0xAB])))
        XCTAssertNil(try store.key(id(child: other)))
    }

    func testPutKeyUpsertsStateAndOrigin() throws {
        let store = try makeStore()
        try store.putKey(key(1))
        try store.putKey(key(1, state: .trusted, addedAt: 2000, origin: "bootstrap"))
        let all = try store.keys(zone: parent, child: child)
        XCTAssertEqual(all.count, 1)
        XCTAssertEqual(all.first?.state, .trusted)
        XCTAssertEqual(all.first?.origin, "bootstrap")
        // added_at is when the key first arrived.
        XCTAssertEqual(all.first?.addedAt, 1000)
    }

    func testLookupIgnoresCase() throws {
        let store = try makeStore()
        try store.putKey(key(7))
        let found = try store.key(KeyIdentity(zone: DomainName("PARENT."), child: DomainName("Child.Parent."), rdata: [1, 0, 3, 15, 0xAA]))
        XCTAssertEqual(found?.child.description, "child.parent.")
        try store.putKey(
            StoredKey(
                zone: DomainName("Parent."), child: DomainName("CHILD.parent."), keyTag: 7, algorithm: 15, rdata: [1, 0, 3, 15, 0xAA], state: .trusted,
                addedAt: 5, origin: "import"))
        XCTAssertEqual(try store.keys(zone: nil, child: child).count, 1, "same key in other case is the same row")
    }

    /// Keys sharing a tag are candidates, trusted first; a state change names exactly one.
    func testTagCollisionKeepsKeysApart() throws {
        let store = try makeStore()
        try store.putKey(key(9, rdata: [1], state: .revoked))
        try store.putKey(key(9, rdata: [2], state: .trusted))
        try store.putKey(key(9, rdata: [3], state: .known))
        XCTAssertEqual(try store.keys(zone: parent, child: child, keyTag: 9, algorithm: 15).map(\.rdata), [[2], [3], [1]])
        XCTAssertEqual(try store.setKeyState(id([3]), state: .revoked), KeyStateChange(found: true))
        XCTAssertEqual(try store.key(id([2]))?.state, .trusted, "revoking the colliding key leaves the trusted one alone")
        XCTAssertEqual(try store.keys(zone: parent, child: child, keyTag: 9, algorithm: 13), [])
    }

    func testKeysFilterAndOrder() throws {
        let store = try makeStore()
        let elsewhere = try DomainName("x.example.")
        try store.putKey(key(30, child: other))
        try store.putKey(key(20, rdata: [20]))
        try store.putKey(key(10, rdata: [10]))
        try store.putKey(
            StoredKey(zone: try DomainName("example."), child: elsewhere, keyTag: 5, algorithm: 8, rdata: [9], state: .known, addedAt: 1, origin: "import"))
        XCTAssertEqual(try store.keys(zone: nil, child: nil).map(\.keyTag), [10, 20, 30, 5])
        XCTAssertEqual(try store.keys(zone: parent, child: nil).map(\.keyTag), [10, 20, 30])
        XCTAssertEqual(try store.keys(zone: nil, child: other).map(\.keyTag), [30])
        XCTAssertEqual(try store.keys(zone: parent, child: elsewhere), [])
    }

    func testSetKeyStateNamesOneKey() throws {
        let store = try makeStore()
        try store.putKey(key(1, rdata: [1]))
        try store.putKey(key(1, rdata: [2]))
        XCTAssertTrue(try store.setKeyState(KeyIdentity(zone: parent, child: try DomainName("CHILD.parent."), rdata: [1]), state: .trusted).found)
        XCTAssertFalse(try store.setKeyState(id([99]), state: .trusted).found)
        XCTAssertEqual(try store.keys(zone: parent, child: child).map(\.state), [.trusted, .known])
    }

    /// Revoking a key cancels the queued changes it signed, and only those.
    func testRevocationCancelsItsQueuedChanges() throws {
        let store = try makeStore()
        try store.putKey(key(1, rdata: [1], state: .trusted))
        try store.putKey(key(2, rdata: [2], state: .trusted))
        let ops: [Update.Operation] = [.add(try ns("ns1.child.parent."))]
        let first = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: ops, createdAt: 5, nextAttemptAt: 5, signer: id([1]), deadline: 99))
        let second = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: ops, createdAt: 5, nextAttemptAt: 5, signer: id([2])))
        XCTAssertEqual(try store.outboxEntry(id: first)?.signer, id([1]))
        XCTAssertEqual(try store.outboxEntry(id: first)?.deadline, 99)
        XCTAssertEqual(try store.setKeyState(id([1]), state: .revoked), KeyStateChange(found: true, cancelledChanges: 1))
        XCTAssertEqual(try store.outboxEntry(id: first)?.state, .cancelled)
        XCTAssertEqual(try store.outboxEntry(id: second)?.state, .pending)
        XCTAssertEqual(try store.pendingCount(), 1)
    }

    // MARK: Replay and budgets

    func admission(_ rdata: [UInt8] = [1], inception: UInt32, signature: UInt8, budget: Int? = nil) -> Admission {
        Admission(
            key: id(rdata), inception: inception, signatureDigest: [signature], expiresAt: 1000, budget: budget.map { .init(name: "update child", perHour: $0) })
    }

    func testAdmitChecksInceptionSignatureAndBudgetPerKey() throws {
        let store = try makeStore()
        XCTAssertEqual(try store.admit(admission(inception: 500, signature: 1, budget: 2), now: 500), .admitted)
        XCTAssertEqual(try store.admit(admission(inception: 500, signature: 1, budget: 2), now: 501), .replayed)
        XCTAssertEqual(try store.admit(admission(inception: 400, signature: 2, budget: 2), now: 501), .older(500))
        // Another key (a colliding upload) has replay state of its own.
        XCTAssertEqual(try store.admit(admission([2], inception: 100, signature: 3), now: 501), .admitted)
        XCTAssertEqual(try store.admit(admission(inception: 501, signature: 4, budget: 2), now: 501), .admitted)
        XCTAssertEqual(try store.admit(admission(inception: 502, signature: 5, budget: 2), now: 502), .rateLimited)
        // Half an hour refills one of two tokens.
        XCTAssertEqual(try store.admit(admission(inception: 502, signature: 5, budget: 2), now: 502 + 1800), .admitted)
        // An expired signature is forgotten (its inception still guards).
        XCTAssertEqual(try store.admit(admission(inception: 600, signature: 1), now: 1001), .admitted)
    }

    // MARK: Group commit

    /// Writes in one batch see the ones before them: the same signature twice in one
    /// transaction is admitted once (RFC 2931 §3.3), the budget is spent once per admission.
    func testCommitAdmitsTheSameSignatureOnceInOneBatch() throws {
        let store = try makeStore()
        let results = try store.commit([
            .admit(admission(inception: 500, signature: 1, budget: 2), now: 500),
            .admit(admission(inception: 500, signature: 1, budget: 2), now: 500),
            .appendAudit(entry(500, signer: "child.parent.")),
            .admit(admission(inception: 500, signature: 2, budget: 2), now: 500),
            .admit(admission(inception: 500, signature: 3, budget: 2), now: 500),
        ])
        XCTAssertEqual(results.count, 5)
        XCTAssertEqual(results[0], .verdict(.admitted))
        XCTAssertEqual(results[1], .verdict(.replayed))
        guard case .audit(let id) = results[2] else { return XCTFail("\(results[2])") }
        XCTAssertEqual(try store.audit(child: nil, limit: 10).map(\.id), [id])
        XCTAssertEqual(results[3], .verdict(.admitted))
        XCTAssertEqual(results[4], .verdict(.rateLimited))
        XCTAssertEqual(try store.admit(admission(inception: 500, signature: 1), now: 501), .replayed, "the batch is durable")
    }

    /// Expired signatures are pruned once per batch (at its earliest time); one that expired
    /// after that still counts as never seen, so it is admitted as `admit` alone would.
    func testABatchTreatsASignatureExpiredWithinItAsUnseen() throws {
        let store = try makeStore()
        XCTAssertEqual(try store.commit([.admit(admission(inception: 500, signature: 1), now: 500)]), [.verdict(.admitted)])
        var again = admission(inception: 600, signature: 1)
        again.expiresAt = 2000
        let results = try store.commit([
            .admit(admission([2], inception: 900, signature: 2), now: 900), .admit(again, now: 1001), .admit(again, now: 1001),
        ])
        XCTAssertEqual(results, [.verdict(.admitted), .verdict(.admitted), .verdict(.replayed)])
    }

    /// Each key's replay row and each budget is read and written once per batch
    /// (SQLiteAdmissionBatch, PostgresAdmissionBatch): what an admission changes is seen by the next one in the batch,
    /// under either spelling of the child's name (RFC 4343), and is durable after it.
    func testABatchCarriesInceptionAndBudgetFromOneAdmissionToTheNextAndStoresThem() throws {
        let store = try makeStore()
        var shouted = admission(inception: 400, signature: 3, budget: 2)
        shouted.key = KeyIdentity(zone: parent, child: try DomainName("CHILD.Parent."), rdata: [1])
        let results = try store.commit([
            .admit(admission(inception: 500, signature: 1, budget: 2), now: 500),
            .admit(admission(inception: 501, signature: 2, budget: 2), now: 500),
            .admit(shouted, now: 500),
            .admit(admission(inception: 502, signature: 4, budget: 2), now: 500),
        ])
        XCTAssertEqual(results, [.verdict(.admitted), .verdict(.admitted), .verdict(.older(501)), .verdict(.rateLimited)])
        XCTAssertEqual(try store.commit([.admit(admission(inception: 500, signature: 5), now: 500)]), [.verdict(.older(501))], "the inception was stored")
        XCTAssertEqual(try store.admit(admission(inception: 502, signature: 6, budget: 2), now: 500), .rateLimited, "the spent budget was stored")
    }

    /// A signature refused for its budget is not recorded as seen, in a batch as alone: sent
    /// again once the budget has a token (and long before it expires), it is admitted, not taken
    /// for a replay; a refusal does not undo an admission of the same signature that stands.
    func testARateLimitedSignatureIsNotRecordedAsSeen() throws {
        let store = try makeStore()
        func lasting(_ signature: UInt8) -> Admission {
            var admission = admission(inception: 500, signature: signature, budget: 1)
            admission.expiresAt = 100_000
            return admission
        }
        let results = try store.commit([.admit(lasting(1), now: 500), .admit(lasting(2), now: 500), .admit(lasting(1), now: 500)])
        XCTAssertEqual(results, [.verdict(.admitted), .verdict(.rateLimited), .verdict(.replayed)])
        XCTAssertEqual(try store.admit(lasting(2), now: 501), .rateLimited)
        XCTAssertEqual(try store.admit(lasting(1), now: 501), .replayed, "signature 1 stands")
        XCTAssertEqual(try store.commit([.admit(lasting(2), now: 500 + 3600)]), [.verdict(.admitted)])
        XCTAssertEqual(try store.admit(lasting(2), now: 500 + 7200), .replayed)
    }

    /// A batch whose transaction fails leaves nothing behind: no audit row, no replay state, no
    /// budget spent (so no request of it may be acknowledged, and none was half-recorded).
    func testAFailedBatchIsRolledBackWhole() throws {
        let store = try makeStore()
        try refuseAuditRows(reasoned: "boom", in: store)
        var failing = entry(500, signer: "child.parent.")
        failing.reason = "boom"
        XCTAssertThrowsError(
            try store.commit([
                .admit(admission(inception: 500, signature: 1, budget: 1), now: 500), .appendAudit(entry(500, signer: "child.parent.")),
                .appendAudit(failing),
            ]))
        XCTAssertEqual(try store.audit(child: nil, limit: 10).count, 0)
        XCTAssertEqual(try store.admit(admission(inception: 500, signature: 1, budget: 1), now: 500), .admitted, "neither replay state nor budget was kept")
    }

    // MARK: Audit

    func entry(_ time: Int64, signer: String?, keyTag: UInt16? = nil) -> AuditEntry {
        AuditEntry(
            time: time, source: "192.0.2.7:53124", transport: "udp", zone: "parent.", signer: signer, keyTag: keyTag,
            request: "child.parent. 3600 IN NS ns1.child.parent.", decision: "NOERROR", reason: "applied")
    }

    func testAuditNewestFirstWithFilterAndLimit() throws {
        let store = try makeStore()
        let first = try store.appendAudit(entry(1, signer: "child.parent.", keyTag: 1))
        try store.appendAudit(entry(2, signer: "other.parent."))
        try store.appendAudit(entry(3, signer: nil))
        var last = entry(4, signer: "Child.Parent.")
        last.backendResult = "nsupdate: ok"
        let lastID = try store.appendAudit(last)
        XCTAssertGreaterThan(lastID, first)

        XCTAssertEqual(try store.audit(child: nil, limit: 10).map(\.time), [4, 3, 2, 1])
        XCTAssertEqual(try store.audit(child: nil, limit: 2).map(\.time), [4, 3])
        XCTAssertEqual(try store.audit(child: child, limit: 10).map(\.time), [4, 1])
        XCTAssertEqual(try store.audit(child: child, limit: 1).map(\.time), [4])
        XCTAssertEqual(try store.audit(child: child, limit: 0), [])

        var expected = last
        expected.id = lastID
        XCTAssertEqual(try store.audit(child: nil, limit: 1).first, expected)
        XCTAssertEqual(try store.audit(child: nil, limit: 10).last?.keyTag, 1)
        XCTAssertNil(try store.audit(child: nil, limit: 10).first?.keyTag)
    }

    // MARK: Outbox

    func ns(_ target: String, ttl: UInt32 = 3600) throws -> Record {
        Record(name: child, type: .ns, ttl: ttl, rdata: try DomainName(target).wire)
    }

    func testOutboxLifecycle() throws {
        let store = try makeStore()
        let ops: [Update.Operation] = [.deleteRRset(child, .ns), .add(try ns("ns1.child.parent."))]
        let a = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: ops, createdAt: 100, nextAttemptAt: 100))
        let b = try store.enqueue(OutboxEntry(zone: parent, child: other, operations: [.deleteName(other)], createdAt: 101, nextAttemptAt: 200))
        XCTAssertEqual(try store.pendingCount(), 2)

        XCTAssertEqual(try store.duePending(now: 99).map(\.id), [])
        XCTAssertEqual(try store.duePending(now: 100).map(\.id), [a])
        XCTAssertEqual(try store.duePending(now: 200).map(\.id), [a, b])

        try store.markAttemptFailed(id: a, error: "backend timed out", nextAttemptAt: 300)
        XCTAssertEqual(try store.duePending(now: 200).map(\.id), [b])
        let failed = try XCTUnwrap(store.outboxEntry(id: a))
        XCTAssertEqual(failed.attempts, 1)
        XCTAssertEqual(failed.lastError, "backend timed out")
        XCTAssertEqual(failed.nextAttemptAt, 300)
        XCTAssertEqual(failed.state, .pending)
        XCTAssertEqual(failed.operations, ops)
        XCTAssertEqual(failed.createdAt, 100)
        try store.markAttemptFailed(id: a, error: "refused", nextAttemptAt: 400)
        XCTAssertEqual(try store.outboxEntry(id: a)?.attempts, 2)

        try store.markApplied(id: b)
        XCTAssertEqual(try store.outboxEntry(id: b)?.state, .applied)
        XCTAssertEqual(try store.pendingCount(), 1)
        XCTAssertEqual(try store.duePending(now: 1000).map(\.id), [a])
        try store.markApplied(id: a)
        XCTAssertEqual(try store.pendingCount(), 0)
        XCTAssertEqual(try store.duePending(now: 1000), [])
    }

    func testOutboxUnknownID() throws {
        let store = try makeStore()
        XCTAssertNil(try store.outboxEntry(id: 42))
        XCTAssertThrowsError(try store.markApplied(id: 42)) { XCTAssertEqual(($0 as? StoreError)?.code, .notFound) }
        XCTAssertThrowsError(try store.markAttemptFailed(id: 42, error: "x", nextAttemptAt: 0)) { XCTAssertEqual(($0 as? StoreError)?.code, .notFound) }
    }

    func testOperationsRoundTripAllKinds() throws {
        let store = try makeStore()
        // Mixed case and an escaped dot must survive: names are kept as wire octets.
        let odd = try DomainName("Odd\\.Label.Child.Parent.")
        let ops: [Update.Operation] = [
            .add(try ns("NS1.Child.Parent.", ttl: 86400)),
            .add(Record(name: child, type: .ds, ttl: 3600, rdata: [0x30, 0x39, 13, 2] + [UInt8](repeating: 0xAB, count: 32))),
            .add(Record(name: odd, type: RRType(65280), rrClass: .in, ttl: 0, rdata: [])),
            .delete(try ns("ns2.child.parent.", ttl: 0)),
            .delete(Record(name: child, type: .a, rrClass: .none, ttl: 0, rdata: [])),
            .deleteRRset(child, .ds),
            .deleteRRset(odd, RRType(65280)),
            .deleteName(odd),
            .deleteName(.root),
        ]
        let id = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: ops, createdAt: 1, nextAttemptAt: 1))
        let back = try XCTUnwrap(store.outboxEntry(id: id)).operations
        XCTAssertEqual(back, ops)
        // Hashable equality ignores name case; compare octets too.
        XCTAssertEqual(back.map(\.name.wire), ops.map(\.name.wire))
        XCTAssertEqual(back.map(\.type), ops.map(\.type))

        let empty = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: [], createdAt: 1, nextAttemptAt: 1))
        XCTAssertEqual(try store.outboxEntry(id: empty)?.operations, [])
    }

    func testStoredOperationsRejectGarbage() {
        for line in [
            "add 00 1 1", "frobnicate 00", "deleteName zz", "deleteName 0500", "deleteName 0000", "deleteRRset 00 70000", "add 00 1 1 -5 -", "add 00 1 1 5 abc",
        ] {
            XCTAssertThrowsError(try StoredOperations.operation(line), line) { XCTAssertEqual(($0 as? StoreError)?.code, .corrupt) }
        }
    }

    // MARK: Across instances (a restart, or a second agent)

    func testStatePersistsAcrossInstances() throws {
        let first = try makeStore()
        guard let second = try secondInstance(of: first) else { throw XCTSkip("no second instance of this store") }
        let ops: [Update.Operation] = [.add(try ns("ns1.child.parent."))]
        try first.putKey(key(1, state: .trusted))
        XCTAssertEqual(try first.admit(admission(inception: 77, signature: 7, budget: 1), now: 77), .admitted)
        try first.appendAudit(entry(5, signer: "child.parent."))
        try first.enqueue(OutboxEntry(zone: parent, child: child, operations: ops, createdAt: 5, nextAttemptAt: 6))
        XCTAssertEqual(try second.key(id()), key(1, state: .trusted))
        // Replay state and budget are the same for both.
        XCTAssertEqual(try second.admit(admission(inception: 77, signature: 7, budget: 1), now: 78), .replayed)
        XCTAssertEqual(try second.admit(admission(inception: 76, signature: 8, budget: 1), now: 78), .older(77))
        XCTAssertEqual(try second.admit(admission(inception: 78, signature: 9, budget: 1), now: 78), .rateLimited)
        XCTAssertEqual(try second.audit(child: child, limit: 5).map(\.time), [5])
        XCTAssertEqual(try second.duePending(now: 6).map(\.operations), [ops])
    }

    /// Bootstrap jobs are values kept whole: stored, updated in place, listed by child and
    /// activity, and read back by another instance.
    func testBootstrapJobsPersist() throws {
        let store = try makeStore()
        let child = try DomainName("Child.Parent.")
        var job = KeyBootstrap(
            zone: try DomainName("parent."), child: child, key: [2, 0, 3, 15, 1, 2, 3], source: "127.0.0.1 (TCP)", now: 100, policy: BootstrapPolicy())
        try store.putBootstrap(job, now: 100)
        _ = job.nextAction(now: 100)
        job.record([], now: 100)  // no addresses: the round fails, the job is final
        try store.putBootstrap(job, now: 101)
        var other = KeyBootstrap(
            zone: try DomainName("parent."), child: try DomainName("other.parent."), key: [2, 0, 3, 15, 9], source: "x", now: 100, policy: BootstrapPolicy())
        other.approve(now: 100)
        try store.putBootstrap(other, now: 100)
        let reader = try secondInstance(of: store) ?? store
        XCTAssertEqual(try reader.bootstraps(child: try DomainName("child.parent."), activeOnly: false), [job])
        XCTAssertEqual(try reader.bootstraps(child: nil, activeOnly: true).map(\.child), ["other.parent."])
        XCTAssertEqual(try reader.bootstraps(child: nil, activeOnly: false).count, 2)
    }

    // MARK: Bounded state (issue 11)

    func job(_ child: String, key: UInt8, now: Int64, policy: BootstrapPolicy = BootstrapPolicy(minimumInterval: 300)) throws -> KeyBootstrap {
        KeyBootstrap(zone: parent, child: try DomainName(child), key: [1, 0, 3, 15, key], source: "192.0.2.1 (TCP)", now: now, policy: policy)
    }

    func testOnlyDueJobsAreRead() throws {
        let store = try makeStore()
        var waiting = try job("a.parent.", key: 1, now: 1000)
        _ = waiting.nextAction(now: 1000)
        waiting.record([], now: 1000)  // round 1 fails: "no nameserver address to ask"
        try store.putBootstrap(waiting, now: 1000)
        try store.putBootstrap(try job("b.parent.", key: 2, now: 1000), now: 1000)
        var later = try job("c.parent.", key: 3, now: 1000, policy: BootstrapPolicy(minimumInterval: 300, onFailure: .restart))
        _ = later.nextAction(now: 1000)
        later.record([], now: 1000)
        try store.putBootstrap(later, now: 1000)
        XCTAssertEqual(try store.dueBootstraps(now: 1000).map(\.child), ["b.parent."])
        XCTAssertEqual(try store.dueBootstraps(now: 1300).map(\.child), ["b.parent.", "c.parent."])
        XCTAssertEqual(try store.bootstrapCounts(), ["failed": 1, "verifying": 2])
    }

    func testPruneRemovesOnlyWhatIsOld() throws {
        let store = try makeStore()
        let child = try DomainName("a.parent.")
        try store.appendAudit(AuditEntry(time: 10, source: "x", transport: "tcp", zone: nil, signer: nil, keyTag: nil, request: "", decision: "REFUSED", reason: "old"))
        try store.appendAudit(AuditEntry(time: 5000, source: "x", transport: "tcp", zone: nil, signer: nil, keyTag: nil, request: "", decision: "REFUSED", reason: "new"))
        var failed = try job("a.parent.", key: 1, now: 10)
        _ = failed.nextAction(now: 10)
        failed.record([], now: 10)
        try store.putBootstrap(failed, now: 10)
        try store.putBootstrap(try job("b.parent.", key: 2, now: 10), now: 10)  // unfinished: kept
        let applied = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: [], createdAt: 10, nextAttemptAt: 10))
        try store.markApplied(id: applied)
        try store.enqueue(OutboxEntry(zone: parent, child: child, operations: [], createdAt: 10, nextAttemptAt: 10))  // pending: kept
        let id = KeyIdentity(zone: parent, child: child, rdata: [1])
        XCTAssertEqual(try store.admit(Admission(key: id, inception: 100, signatureDigest: [1], expiresAt: 200, budget: nil), now: 100), .admitted)
        let counts = try store.prune(before: 1000, replayBefore: 150)
        XCTAssertEqual([counts.audit, counts.bootstraps, counts.outbox, counts.replay], [1, 1, 1, 1])
        XCTAssertEqual(try store.audit(child: nil, limit: 10).map(\.reason), ["new"])
        XCTAssertEqual(try store.bootstraps(child: nil, activeOnly: false).map(\.child), ["b.parent."])
        XCTAssertEqual(try store.pendingCount(), 1)
    }

    // MARK: Several agents: claims and the lock per child

    /// A change queued to be applied at once belongs to the agent that queued it until its lease
    /// runs out; one queued for later is anyone's when due. Finishing an entry ends its claim.
    func testClaimsOfOutboxEntries() throws {
        let store = try makeStore()
        let lease = try XCTUnwrap(Self.lease(of: store))
        let now: Int64 = 1000
        let atOnce = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: [], createdAt: now, nextAttemptAt: now))
        let later = try store.enqueue(OutboxEntry(zone: parent, child: other, operations: [], createdAt: now, nextAttemptAt: now + 5))
        XCTAssertEqual(try store.claimDuePending(now: now, limit: 10).map(\.id), [], "the queuing agent works on it")
        XCTAssertEqual(try store.claimDuePending(now: now + 5, limit: 10).map(\.id), [later])
        XCTAssertEqual(try store.claimDuePending(now: now + 6, limit: 10).map(\.id), [], "claimed entries are not claimed twice")
        XCTAssertEqual(try store.claimDuePending(now: now + lease, limit: 10).map(\.id), [atOnce], "an expired claim is taken over")
        try store.markAttemptFailed(id: atOnce, error: "timeout", nextAttemptAt: now + lease)
        XCTAssertEqual(try store.claimDuePending(now: now + lease, limit: 10).map(\.id), [atOnce], "a failed attempt ends the claim")
        try store.releaseClaim(outboxID: atOnce)
        XCTAssertEqual(try store.claimDuePending(now: now + lease, limit: 1).map(\.id), [atOnce], "released, and the limit holds")
        try store.markApplied(id: atOnce)
        XCTAssertEqual(try store.claimDuePending(now: now + 10 * lease, limit: 10).map(\.id), [later])
    }

    /// Two instances (two agents) claiming at once get disjoint sets; a released claim is free.
    func testTwoInstancesClaimDisjointEntries() throws {
        let first = try makeStore()
        guard let second = try secondInstance(of: first) else { throw XCTSkip("no second instance of this store") }
        for index in 0..<40 {
            try first.enqueue(
                OutboxEntry(zone: parent, child: try DomainName("c\(index).parent."), operations: [], createdAt: 100, nextAttemptAt: 101))
        }
        let results = NSLock()
        nonisolated(unsafe) var claimed: [[Int64]] = [[], []]
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let store = index % 2 == 0 ? first : second
            let ids = (try? store.claimDuePending(now: 200, limit: 7).compactMap(\.id)) ?? []
            results.lock()
            claimed[index % 2] += ids
            results.unlock()
        }
        let all = claimed[0] + claimed[1]
        XCTAssertEqual(all.count, Set(all).count, "an entry was claimed twice: \(claimed)")
        XCTAssertEqual(all.count, 40)
        XCTAssertEqual(Set(claimed[0]).intersection(claimed[1]), [])
    }

    func testClaimsOfBootstrapJobs() throws {
        let store = try makeStore()
        let lease = try XCTUnwrap(Self.lease(of: store))
        try store.putBootstrap(try job("a.parent.", key: 1, now: 1000), now: 1000)
        try store.putBootstrap(try job("b.parent.", key: 2, now: 1001), now: 1001)
        XCTAssertEqual(try store.claimDueBootstraps(now: 1001, limit: 1).map(\.child), ["a.parent."])
        XCTAssertEqual(try store.claimDueBootstraps(now: 1001, limit: 10).map(\.child), ["b.parent."])
        XCTAssertEqual(try store.claimDueBootstraps(now: 1002, limit: 10).map(\.child), [])
        var a = try job("a.parent.", key: 1, now: 1000)
        a.approve(now: 1002)
        try store.putBootstrap(a, now: 1002)  // storing the job ends the claim
        XCTAssertEqual(try store.claimDueBootstraps(now: 1002, limit: 10).map(\.child), ["a.parent."])
        XCTAssertEqual(try store.claimDueBootstraps(now: 1001 + lease, limit: 10).map(\.child), ["b.parent."], "expired")
        XCTAssertEqual(try store.dueBootstraps(now: 1002).count, 2, "listing due jobs claims nothing")
    }

    func testChildLockIsExclusiveUntilReleased() throws {
        let store = try makeStore()
        let lock = try XCTUnwrap(store.tryLockChild(zone: parent, child: child))
        XCTAssertNil(try store.tryLockChild(zone: parent, child: try DomainName("CHILD.parent.")))
        let otherLock = try XCTUnwrap(store.tryLockChild(zone: parent, child: other), "another child is not blocked")
        lock.release()
        lock.release()  // a second release does nothing
        let again = try XCTUnwrap(store.tryLockChild(zone: parent, child: child))
        again.release()
        otherLock.release()
    }

    // MARK: The operator's views

    func testKeyListingFilters() throws {
        let store = try makeStore()
        try store.putKeys([
            key(1, rdata: [1], state: .trusted, addedAt: 100), key(2, rdata: [2], state: .known, addedAt: 200),
            key(3, child: other, rdata: [3], state: .trusted, addedAt: 300),
        ])
        func tags(_ filter: KeyFilter) throws -> [UInt16] {
            var tags: [UInt16] = []
            try store.eachKey(filter) { tags.append($0.keyTag) }
            return tags
        }
        XCTAssertEqual(try tags(KeyFilter()), [1, 2, 3])
        XCTAssertEqual(try tags(KeyFilter(state: .trusted)), [1, 3])
        XCTAssertEqual(try tags(KeyFilter(since: 200)), [2, 3])
        XCTAssertEqual(try tags(KeyFilter(child: child, limit: 1)), [1])
        XCTAssertEqual(try tags(KeyFilter(limit: 0)), [])
        // A batch with a key already stored updates it, as putKey does.
        try store.putKeys([key(2, rdata: [2], state: .revoked, addedAt: 999)])
        XCTAssertEqual(try store.key(id([2]))?.state, .revoked)
        XCTAssertEqual(try store.key(id([2]))?.addedAt, 200)
        // The same key twice in one batch: the last one counts.
        try store.putKeys([key(5, rdata: [5], state: .known), key(5, rdata: [5], state: .trusted, origin: "again")])
        XCTAssertEqual(try store.key(id([5]))?.state, .trusted)
        XCTAssertEqual(try store.key(id([5]))?.origin, "again")
    }

    /// Listing stops where the body throws, and a listing larger than one fetch is complete.
    func testListingsStreamEveryRow() throws {
        let store = try makeStore()
        try store.putKeys((0..<2500).map { key(UInt16($0 % 65535), child: try! DomainName("c\($0).parent."), rdata: [UInt8($0 % 256), UInt8($0 / 256)]) })
        var count = 0
        try store.eachKey(KeyFilter()) { _ in count += 1 }
        XCTAssertEqual(count, 2500)
        struct Enough: Error {}
        var seen = 0
        XCTAssertThrowsError(
            try store.eachKey(KeyFilter()) { _ in
                seen += 1
                if seen == 3 { throw Enough() }
            })
        XCTAssertEqual(seen, 3)
        XCTAssertEqual(try store.keys(zone: parent, child: try DomainName("c7.parent.")).count, 1, "the store still works after a stopped listing")
    }

    func testAuditAndJobFilters() throws {
        let store = try makeStore()
        try store.appendAudit(entry(10, signer: "child.parent."))
        var refused = entry(20, signer: "Child.Parent.")
        refused.decision = "REFUSED"
        try store.appendAudit(refused)
        try store.appendAudit(entry(30, signer: "other.parent."))
        func times(_ filter: AuditFilter) throws -> [Int64] {
            var times: [Int64] = []
            try store.eachAudit(filter) { times.append($0.time) }
            return times
        }
        XCTAssertEqual(try times(AuditFilter()), [30, 20, 10])
        XCTAssertEqual(try times(AuditFilter(child: child)), [20, 10])
        XCTAssertEqual(try times(AuditFilter(decision: "refused")), [20])
        XCTAssertEqual(try times(AuditFilter(since: 20, limit: 1)), [30])

        try store.putBootstrap(try job("a.parent.", key: 1, now: 1000), now: 1000)
        var failed = try job("b.parent.", key: 2, now: 1000)
        _ = failed.nextAction(now: 1000)
        failed.record([], now: 1000)
        try store.putBootstrap(failed, now: 2000)
        func children(_ filter: BootstrapFilter) throws -> [String] {
            var children: [String] = []
            try store.eachBootstrap(filter) { children.append($0.child) }
            return children
        }
        XCTAssertEqual(try children(BootstrapFilter()), ["a.parent.", "b.parent."])
        XCTAssertEqual(try children(BootstrapFilter(state: "failed")), ["b.parent."])
        XCTAssertEqual(try children(BootstrapFilter(activeOnly: true)), ["a.parent."])
        XCTAssertEqual(try children(BootstrapFilter(since: 1500)), ["b.parent."])
        XCTAssertEqual(try children(BootstrapFilter(limit: 1)), ["a.parent."])
    }

    /// Both stores are at the same schema version.
    func testSchemaVersion() throws {
        let store = try makeStore()  // outside the assertion, so the base class's XCTSkip skips
        XCTAssertEqual(
            try store.appliedMigrations(), [
                "v1", "v2-bootstrap", "v3-key-identity", "v4-bounded-state", "v5-event-episodes", "v6-status-secret", "v7-scanner", "v8-claims",
            ])
    }

    static func lease(of store: any DelegationStore) -> Int64? {
        (store as? SQLiteStore)?.lease ?? (store as? PostgresStore)?.lease
    }
}
