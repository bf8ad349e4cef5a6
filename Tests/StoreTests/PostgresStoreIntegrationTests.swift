import DNSWire
import DelegationCore
import Foundation
import TestSupport
import XCTest

@testable import Store

/// The store battery on PostgreSQL: one throwaway cluster for the class (``PostgresLab``, port
/// 25432), a new database for every store; and what only several agents on one PostgreSQL have:
/// replay decided once across agents, the lock per child across connections (released when its
/// holder's connection dies), concurrent schema set-up. Needs the lab lock (it starts a server).
final class PostgresStoreIntegrationTests: StoreBattery {
    nonisolated(unsafe) static var lab: PostgresLab?
    nonisolated(unsafe) static var labError: String?
    nonisolated(unsafe) static var databases = 0

    override class func setUp() {
        super.setUp()
        if PostgresLab.missing != nil { return }
        do {
            lab = try PostgresLab(port: 25432)
        } catch {
            labError = "\(error)"
        }
    }

    override class func tearDown() {
        lab?.stop()
        lab = nil
        super.tearDown()
    }

    func newDatabase() throws -> String {
        if let missing = PostgresLab.missing { throw XCTSkip(missing) }
        guard let lab = Self.lab else { throw ToolError("no PostgreSQL: \(Self.labError ?? "?")") }
        Self.databases += 1
        return try lab.createDatabase("battery\(Self.databases)")
    }

    override func makeStore() throws -> any DelegationStore {
        try PostgresStore(url: try newDatabase())
    }

    override func secondInstance(of store: any DelegationStore) throws -> (any DelegationStore)? {
        let store = try XCTUnwrap(store as? PostgresStore)
        return try PostgresStore(url: "postgres://delegsync@" + store.location.dropFirst("postgres://delegsync@".count))
    }

    /// `status`, `audit` and `keys list` only look: a database without the schema is an error
    /// saying to start the agent (and is left without it); a reader sees what the agent wrote,
    /// and cannot write.
    func testOpeningForReadingChangesNothing() throws {
        let url = try newDatabase()
        XCTAssertThrowsError(try PostgresStore.existing(readingAt: url)) { error in
            XCTAssertEqual((error as? StoreError)?.code, .migrate)
            XCTAssertTrue("\(error)".contains("no delegsync schema yet"), "\(error)")
        }
        XCTAssertThrowsError(try PostgresStore.existing(readingAt: url), "the reader created nothing")
        let agent = try PostgresStore(url: url)
        let audit = AuditEntry(time: 1, source: "operator", transport: "cli", zone: nil, signer: nil, keyTag: nil, request: "", decision: "X", reason: "y")
        try agent.appendAudit(audit)
        let reader = try PostgresStore.existing(readingAt: url)
        XCTAssertEqual(try reader.statusSecret(), try agent.statusSecret())
        XCTAssertEqual(try reader.audit(child: nil, limit: 5).map(\.decision), ["X"])
        XCTAssertThrowsError(try reader.appendAudit(audit))
        XCTAssertEqual(try agent.audit(child: nil, limit: 5).count, 1)
    }

    /// The same signed UPDATE given to two agents at once, many times over: each signature is
    /// admitted exactly once.
    func testReplayIsDecidedOnceAcrossAgents() throws {
        let first = try makeStore()
        let agents = [first, try XCTUnwrap(secondInstance(of: first)), try XCTUnwrap(secondInstance(of: first))]
        let results = NSLock()
        nonisolated(unsafe) var verdicts: [UInt8: [Admission.Verdict]] = [:]
        let admissions = (0..<10).map { admission(inception: 500, signature: UInt8($0), budget: 1000) }
        DispatchQueue.concurrentPerform(iterations: 90) { index in
            let signature = UInt8(index % 10)
            let verdict = try? agents[index % 3].admit(admissions[index % 10], now: 500)
            results.lock()
            verdicts[signature, default: []].append(verdict ?? .older(0))
            results.unlock()
        }
        for (signature, all) in verdicts {
            XCTAssertEqual(all.filter { $0 == .admitted }.count, 1, "signature \(signature): \(all)")
            XCTAssertEqual(all.filter { $0 == .replayed }.count, 8, "signature \(signature): \(all)")
        }
        // The budget counted each admitted request once: 1000 - 10 left.
        XCTAssertEqual(try Self.lab?.psql("SELECT round(tokens) FROM budgets", database: "battery\(Self.databases)"), "990\n")
    }

    /// What agents' concurrent group commits answered per signature, and what failed.
    final class Verdicts: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var bySignature: [[UInt8]: [Admission.Verdict]] = [:]
        private(set) var failures: [String] = []

        /// Commits `admissions` as one batch on `store` and keeps the verdicts.
        func commit(_ admissions: [Admission], on store: any DelegationStore) {
            do {
                let results = try store.commit(admissions.map { .admit($0, now: 500) })
                lock.withLock {
                    for (admission, result) in zip(admissions, results) {
                        guard case .verdict(let verdict) = result else { continue }
                        bySignature[admission.signatureDigest, default: []].append(verdict)
                    }
                }
            } catch {
                lock.withLock { failures.append("\(error)") }
            }
        }
    }

    /// Group commits on three agents at once, the same signatures in each agent's batches in a
    /// different order, over keys whose replay rows and budgets every batch locks: each
    /// signature is admitted exactly once across agents, every batch goes through (the locks are
    /// taken in one order: no deadlock ends a batch), and the budget counts each admission once.
    func testGroupCommitsDecideEachSignatureOnceAcrossAgents() throws {
        let first = try makeStore()
        let agents = [first, try XCTUnwrap(secondInstance(of: first)), try XCTUnwrap(secondInstance(of: first))]
        let verdicts = Verdicts()
        // 60 signatures over 4 keys, one budget; each agent sends all 60 in batches of 12.
        let admissions = (0..<60).map { admission([UInt8($0 % 4) + 1], inception: 500, signature: UInt8($0), budget: 1000) }
        DispatchQueue.concurrentPerform(iterations: 15) { index in
            let agent = index % 3
            var order = Array(0..<60)
            // A different order on every agent: forwards, backwards, interleaved.
            if agent == 1 { order.reverse() }
            if agent == 2 { order = order.filter { $0 % 2 == 1 } + order.filter { $0 % 2 == 0 } }
            verdicts.commit(order[(index / 3 * 12)..<(index / 3 * 12 + 12)].map { admissions[$0] }, on: agents[agent])
        }
        XCTAssertEqual(verdicts.failures, [])
        XCTAssertEqual(verdicts.bySignature.count, 60)
        for (signature, all) in verdicts.bySignature {
            XCTAssertEqual(all.filter { $0 == .admitted }.count, 1, "signature \(signature): \(all)")
            XCTAssertEqual(all.filter { $0 == .replayed }.count, 2, "signature \(signature): \(all)")
        }
        XCTAssertEqual(try Self.lab?.psql("SELECT round(tokens) FROM budgets", database: "battery\(Self.databases)"), "940\n")
        XCTAssertEqual(try Self.lab?.psql("SELECT count(*) FROM seen_signatures", database: "battery\(Self.databases)"), "60\n")
    }

    /// The race the unique key decides: keys with no replay row yet and no budget, so nothing
    /// but the signatures' own rows orders the agents' batches. Three agents commit the same six
    /// signatures of a new key at once, twenty times over: each signature is admitted by one
    /// agent only, the others find it taken and answer "replayed".
    func testGroupCommitsRacingOnNewKeysAdmitEachSignatureOnce() throws {
        let first = try makeStore()
        let agents = [first, try XCTUnwrap(secondInstance(of: first)), try XCTUnwrap(secondInstance(of: first))]
        let verdicts = Verdicts()
        for round in 0..<20 {
            let admissions = (0..<6).map { admission([UInt8(round + 1), 9], inception: 500, signature: UInt8(round * 6 + $0)) }
            DispatchQueue.concurrentPerform(iterations: 3) { agent in
                verdicts.commit(agent == 1 ? admissions.reversed() : admissions, on: agents[agent])
            }
        }
        XCTAssertEqual(verdicts.failures, [])
        XCTAssertEqual(verdicts.bySignature.count, 120, "every signature decided")
        let twice = verdicts.bySignature.filter { $0.value.filter { $0 == .admitted }.count != 1 }
        XCTAssertEqual(twice.count, 0, "signatures not admitted exactly once: \(twice)")
    }

    override func refuseAuditRows(reasoned reason: String, in store: any DelegationStore) throws {
        _ = try Self.lab?.psql(
            """
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON audit FOR EACH ROW WHEN (NEW.reason = '\(reason)') EXECUTE FUNCTION refuse();
            """, database: "battery\(Self.databases)")
    }

    /// The lock per child holds across agents, and the server frees it when the holder's
    /// connection dies (an agent killed while committing does not block its child).
    func testChildLockAcrossAgentsAndHolderDeath() throws {
        let first = try makeStore()
        let second = try XCTUnwrap(secondInstance(of: first))
        let held = try XCTUnwrap(first.tryLockChild(zone: parent, child: child))
        XCTAssertNil(try second.tryLockChild(zone: parent, child: child))
        held.release()
        let taken = try XCTUnwrap(second.tryLockChild(zone: parent, child: child))
        XCTAssertNil(try first.tryLockChild(zone: parent, child: child))
        // The holder's connection dies.
        let killed = try XCTUnwrap(Self.lab).psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted", database: "battery\(Self.databases)")
        XCTAssertEqual(killed, "1\n")
        var again: ChildStoreLock? = nil
        for _ in 0..<50 where again == nil {
            again = try first.tryLockChild(zone: parent, child: child)
            if again == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertNotNil(again, "the lock of a dead connection was not freed")
        again?.release()
        taken.release()
    }

    /// Agents starting at once on a new database all bring the schema up (one creates it).
    func testConcurrentFirstOpensAllSucceed() throws {
        let url = try newDatabase()
        let failures = NSLock()
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do {
                _ = try PostgresStore(url: url)
            } catch {
                failures.lock()
                errors.append("\(error)")
                failures.unlock()
            }
        }
        XCTAssertEqual(errors, [])
    }

    /// What is wrong with a URL, or with the server, is said in words an operator can act on.
    func testBadURLsAndServersAreExplained() throws {
        for (url, words) in [
            ("mysql://x@127.0.0.1/db", "not a postgres:// URL"),
            ("postgres://127.0.0.1/db", "names no user"),
            ("postgres://u@127.0.0.1/db?sslmode=require", "sslmode=require is not supported"),
            ("postgres://delegsync:secret@127.0.0.1:25439/db", "cannot connect to store postgres://delegsync:%E2%80%A6@127.0.0.1:25439/db"),
        ] {
            XCTAssertThrowsError(try PostgresStore(url: url), url) { error in
                XCTAssertEqual((error as? StoreError)?.code, .open, url)
                XCTAssertTrue("\(error)".contains(words), "\(url): \(error)")
                XCTAssertFalse("\(error)".contains("secret"), "the password is printed: \(error)")
            }
        }
        let missing = try XCTUnwrap(Self.lab).url("nosuchdatabase")
        XCTAssertThrowsError(try PostgresStore(url: missing)) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
    }
}
