import DNSWire
import DelegationCore
import Foundation
import class GRDB.DatabaseQueue
import XCTest

@testable import Store

final class SQLiteStoreTests: XCTestCase {
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
        let store = try SQLiteStore.inMemory()
        XCTAssertNil(try store.key(id()))
        try store.putKey(key(1))
        XCTAssertEqual(try store.key(id()), key(1))
        XCTAssertNil(try store.key(id([1, 0, 3, 15, 0xAB])))
        XCTAssertNil(try store.key(id(child: other)))
    }

    func testPutKeyUpsertsStateAndOrigin() throws {
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
        try store.putKey(key(9, rdata: [1], state: .revoked))
        try store.putKey(key(9, rdata: [2], state: .trusted))
        try store.putKey(key(9, rdata: [3], state: .known))
        XCTAssertEqual(try store.keys(zone: parent, child: child, keyTag: 9, algorithm: 15).map(\.rdata), [[2], [3], [1]])
        XCTAssertEqual(try store.setKeyState(id([3]), state: .revoked), KeyStateChange(found: true))
        XCTAssertEqual(try store.key(id([2]))?.state, .trusted, "revoking the colliding key leaves the trusted one alone")
        XCTAssertEqual(try store.keys(zone: parent, child: child, keyTag: 9, algorithm: 13), [])
    }

    func testKeysFilterAndOrder() throws {
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
        try store.putKey(key(1, rdata: [1]))
        try store.putKey(key(1, rdata: [2]))
        XCTAssertTrue(try store.setKeyState(KeyIdentity(zone: parent, child: try DomainName("CHILD.parent."), rdata: [1]), state: .trusted).found)
        XCTAssertFalse(try store.setKeyState(id([99]), state: .trusted).found)
        XCTAssertEqual(try store.keys(zone: parent, child: child).map(\.state), [.trusted, .known])
    }

    /// Revoking a key cancels the queued changes it signed, and only those.
    func testRevocationCancelsItsQueuedChanges() throws {
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
        XCTAssertEqual(try store.commit([.admit(admission(inception: 500, signature: 1), now: 500)]), [.verdict(.admitted)])
        var again = admission(inception: 600, signature: 1)
        again.expiresAt = 2000
        let results = try store.commit([
            .admit(admission([2], inception: 900, signature: 2), now: 900), .admit(again, now: 1001), .admit(again, now: 1001),
        ])
        XCTAssertEqual(results, [.verdict(.admitted), .verdict(.admitted), .verdict(.replayed)])
    }

    /// Each key's replay row and each budget is read and written once per batch
    /// (SQLiteAdmissionBatch): what an admission changes is seen by the next one in the batch,
    /// under either spelling of the child's name (RFC 4343), and is durable after it.
    func testABatchCarriesInceptionAndBudgetFromOneAdmissionToTheNextAndStoresThem() throws {
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
        try store.write("install a failing trigger") { db in
            try db.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON audit WHEN NEW.reason = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END")
        }
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
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
        XCTAssertNil(try store.outboxEntry(id: 42))
        XCTAssertThrowsError(try store.markApplied(id: 42)) { XCTAssertEqual(($0 as? StoreError)?.code, .notFound) }
        XCTAssertThrowsError(try store.markAttemptFailed(id: 42, error: "x", nextAttemptAt: 0)) { XCTAssertEqual(($0 as? StoreError)?.code, .notFound) }
    }

    func testOperationsRoundTripAllKinds() throws {
        let store = try SQLiteStore.inMemory()
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

    // MARK: File store

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("delegsync-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testFileStorePersistsAcrossReopen() throws {
        let path = try temporaryDirectory().appendingPathComponent("state.sqlite").path
        let ops: [Update.Operation] = [.add(try ns("ns1.child.parent."))]
        do {
            let store = try SQLiteStore(path: path)
            try store.putKey(key(1, state: .trusted))
            XCTAssertEqual(try store.admit(admission(inception: 77, signature: 7, budget: 1), now: 77), .admitted)
            try store.appendAudit(entry(5, signer: "child.parent."))
            try store.enqueue(OutboxEntry(zone: parent, child: child, operations: ops, createdAt: 5, nextAttemptAt: 5))
        }
        let store = try SQLiteStore(path: path)
        XCTAssertEqual(try store.key(id()), key(1, state: .trusted))
        // Replay state and budget survive the reopen.
        XCTAssertEqual(try store.admit(admission(inception: 77, signature: 7, budget: 1), now: 78), .replayed)
        XCTAssertEqual(try store.admit(admission(inception: 76, signature: 8, budget: 1), now: 78), .older(77))
        XCTAssertEqual(try store.admit(admission(inception: 78, signature: 9, budget: 1), now: 78), .rateLimited)
        XCTAssertEqual(try store.audit(child: child, limit: 5).map(\.time), [5])
        XCTAssertEqual(try store.duePending(now: 5).map(\.operations), [ops])
    }

    func testFileStoreIsInWALMode() throws {
        let path = try temporaryDirectory().appendingPathComponent("state.sqlite").path
        let store = try SQLiteStore(path: path)
        try store.putKey(key(1))
        // The header's read/write version bytes (offsets 18, 19) are 2 in WAL mode.
        let header = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual(header[18], 2)
        XCTAssertEqual(header[19], 2)
    }

    func testOpenFailureNamesThePath() {
        let path = "/nonexistent-delegsync-dir/state.sqlite"
        XCTAssertThrowsError(try SQLiteStore(path: path)) { error in
            XCTAssertEqual((error as? StoreError)?.code, .open)
            XCTAssertTrue("\(error)".contains("cannot open store \(path)"), "\(error)")
        }
    }
}

extension SQLiteStoreTests {
    /// Bootstrap jobs are values kept whole: stored, updated in place, listed by child and
    /// activity, and they survive reopening the file.
    func testBootstrapJobsPersist() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-bootstrap-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/state.sqlite"
        let child = try DomainName("Child.Parent.")
        var job = KeyBootstrap(
            zone: try DomainName("parent."), child: child, key: [2, 0, 3, 15, 1, 2, 3], source: "127.0.0.1 (TCP)", now: 100, policy: BootstrapPolicy())
        do {
            let store = try SQLiteStore(path: path)
            try store.putBootstrap(job, now: 100)
            _ = job.nextAction(now: 100)
            job.record([], now: 100)  // no addresses: the round fails, the job is final
            try store.putBootstrap(job, now: 101)
            var other = KeyBootstrap(
                zone: try DomainName("parent."), child: try DomainName("other.parent."), key: [2, 0, 3, 15, 9], source: "x", now: 100, policy: BootstrapPolicy()
            )
            other.approve(now: 100)
            try store.putBootstrap(other, now: 100)
        }
        let reopened = try SQLiteStore(path: path)
        XCTAssertEqual(try reopened.bootstraps(child: try DomainName("child.parent."), activeOnly: false), [job])
        XCTAssertEqual(try reopened.bootstraps(child: nil, activeOnly: true).map(\.child), ["other.parent."])
        XCTAssertEqual(try reopened.bootstraps(child: nil, activeOnly: false).count, 2)
    }
}

/// Issue 11: two processes opening a store that does not exist yet (the first `serve` while
/// monitoring runs `delegsync status`) raced in the schema migration ("table keys already
/// exists"). Several stores opened at once on a new file must all come up.
final class SQLiteStoreMigrationRaceTests: XCTestCase {
    func testConcurrentFirstOpensAllSucceed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("delegsync-race-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for trial in 0..<15 {
            let path = directory.appendingPathComponent("state-\(trial).sqlite").path
            let failures = NSLock()
            nonisolated(unsafe) var errors: [String] = []
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do {
                    _ = try SQLiteStore(path: path)
                } catch {
                    failures.lock()
                    errors.append("\(error)")
                    failures.unlock()
                }
            }
            XCTAssertEqual(errors, [], "trial \(trial)")
        }
    }
}

/// Issue 11, bounded state: the worker reads only due jobs (an index on the due time), the
/// metrics count jobs without decoding them, retention prunes what is old.
final class SQLiteStoreBoundedStateTests: XCTestCase {
    let parent = try! DomainName("parent.")

    func job(_ child: String, key: UInt8, now: Int64, policy: BootstrapPolicy = BootstrapPolicy(minimumInterval: 300)) throws -> KeyBootstrap {
        KeyBootstrap(zone: parent, child: try DomainName(child), key: [1, 0, 3, 15, key], source: "192.0.2.1 (TCP)", now: now, policy: policy)
    }

    func testOnlyDueJobsAreRead() throws {
        let store = try SQLiteStore.inMemory()
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
        let store = try SQLiteStore.inMemory()
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

    /// Jobs stored before schema v4 get their state and due time on the upgrade.
    func testMigrationFillsDueTimesOfOldJobs() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("delegsync-v4-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        let old = try job("a.parent.", key: 1, now: 1000)
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteStore.migrator.migrate(queue, upTo: "v3-key-identity")
            try queue.write { db in
                try db.execute(
                    sql: "INSERT INTO bootstrap (zone, child, key, key_tag, final, job, updated_at) VALUES (?, ?, ?, ?, 0, ?, 1000)",
                    arguments: ["parent.", "a.parent.", Data(old.key), old.keyTag, String(decoding: try JSONEncoder().encode(old), as: UTF8.self)])
            }
        }
        let store = try SQLiteStore(path: path)
        XCTAssertEqual(try store.dueBootstraps(now: 1000).map(\.child), ["a.parent."])
        XCTAssertEqual(try store.dueBootstraps(now: 999).count, 0)
        XCTAssertEqual(try store.bootstrapCounts(), ["verifying": 1])
    }
}

/// Issue 12: `delegsync status` and `audit` only look. Opening for reading creates no file — no
/// store where there is none, no `-wal`/`-shm` beside one — and changes nothing.
final class SQLiteStoreReadingTests: XCTestCase {
    func testOpeningForReadingCreatesNothing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-reading-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/state.sqlite"
        XCTAssertNil(try SQLiteStore.existing(readingAt: path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])

        var secret: [UInt8] = []
        do {
            let store = try SQLiteStore(path: path)
            secret = try store.statusSecret()
            try store.appendAudit(AuditEntry(time: 1, source: "operator", transport: "cli", zone: nil, signer: nil, keyTag: nil, request: "", decision: "X", reason: "y"))
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertEqual(files, ["state.sqlite"], "the writer closed the store")
        XCTAssertEqual(secret.count, 32)

        let reader = try XCTUnwrap(try SQLiteStore.existing(readingAt: path))
        XCTAssertEqual(try reader.statusSecret(), secret)
        XCTAssertEqual(try reader.audit(child: nil, limit: 5).map(\.decision), ["X"])
        XCTAssertThrowsError(
            try reader.appendAudit(AuditEntry(time: 2, source: "operator", transport: "cli", zone: nil, signer: nil, keyTag: nil, request: "", decision: "Z", reason: "")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), files)

        // While a writer has it open (the agent running), a reader sees its latest writes.
        let writer = try SQLiteStore(path: path)
        try writer.appendAudit(AuditEntry(time: 3, source: "operator", transport: "cli", zone: nil, signer: nil, keyTag: nil, request: "", decision: "W", reason: ""))
        XCTAssertEqual(try XCTUnwrap(try SQLiteStore.existing(readingAt: path)).audit(child: nil, limit: 1).map(\.decision), ["W"])
    }

    /// Every store gets its own secret.
    func testEachStoreHasItsOwnStatusSecret() throws {
        XCTAssertNotEqual(try SQLiteStore.inMemory().statusSecret(), try SQLiteStore.inMemory().statusSecret())
    }
}
