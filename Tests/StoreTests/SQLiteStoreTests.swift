import DNSWire
import DelegationCore
import Foundation
import class GRDB.Database
import class GRDB.DatabaseQueue
import XCTest

@testable import Store

/// The store battery on SQLite (a file in a temporary directory, so a second instance can open
/// it), and what only the SQLite store has: the file, WAL mode, opening races, old schemas.
final class SQLiteStoreTests: StoreBattery {
    override func makeStore() throws -> any DelegationStore {
        try SQLiteStore(path: try temporaryDirectory().appendingPathComponent("state.sqlite").path)
    }

    override func secondInstance(of store: any DelegationStore) throws -> (any DelegationStore)? {
        try SQLiteStore(path: try XCTUnwrap(store as? SQLiteStore).path)
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("delegsync-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    override func refuseAuditRows(reasoned reason: String, in store: any DelegationStore) throws {
        try XCTUnwrap(store as? SQLiteStore).write("install a failing trigger") { db in
            try db.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON audit WHEN NEW.reason = '\(reason)' BEGIN SELECT RAISE(ABORT, 'refused'); END")
        }
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

    /// An agent restarted after a crash takes its predecessor's claims over at once (a process
    /// of this host that no longer runs); another host's claims wait for their lease.
    func testClaimsOfAGoneLocalAgentAreReleasedAtOpen() throws {
        let path = try temporaryDirectory().appendingPathComponent("state.sqlite").path
        let store = try SQLiteStore(path: path)
        let mine = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: [], createdAt: 100, nextAttemptAt: 100))
        let elsewhere = try store.enqueue(OutboxEntry(zone: parent, child: other, operations: [], createdAt: 100, nextAttemptAt: 100))
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let host = store.claimant.split(separator: "/")[0]
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE outbox SET claimed_by = ? WHERE id = ?", arguments: ["\(host)/\(exited.processIdentifier)/x", mine])
            try db.execute(sql: "UPDATE outbox SET claimed_by = ? WHERE id = ?", arguments: ["elsewhere.example/\(exited.processIdentifier)/x", elsewhere])
        }
        XCTAssertEqual(try store.claimDuePending(now: 101, limit: 10).map(\.id), [], "both are claimed")
        let restarted = try SQLiteStore(path: path)
        XCTAssertEqual(try restarted.claimDuePending(now: 101, limit: 10).map(\.id), [mine])
        XCTAssertFalse(Claimant.isGone(store.claimant), "this process runs")
    }

    func testOpenFailureNamesThePath() {
        let path = "/nonexistent-delegsync-dir/state.sqlite"
        XCTAssertThrowsError(try SQLiteStore(path: path)) { error in
            XCTAssertEqual((error as? StoreError)?.code, .open)
            XCTAssertTrue("\(error)".contains("cannot open store \(path)"), "\(error)")
        }
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

/// Issue 11, bounded state, on SQLite alone: an old schema's jobs get their due times.
final class SQLiteStoreBoundedStateTests: XCTestCase {
    let parent = try! DomainName("parent.")

    func job(_ child: String, key: UInt8, now: Int64, policy: BootstrapPolicy = BootstrapPolicy(minimumInterval: 300)) throws -> KeyBootstrap {
        KeyBootstrap(zone: parent, child: try DomainName(child), key: [1, 0, 3, 15, key], source: "192.0.2.1 (TCP)", now: now, policy: policy)
    }

    /// Jobs stored before schema v4 get their state and due time on the upgrade.
    func testMigrationFillsDueTimesOfOldJobs() throws {
        let old = try job("a.parent.", key: 1, now: 1000)
        let path = try oldStore(upTo: "v3-key-identity") { db in
            try db.execute(
                sql: "INSERT INTO bootstrap (zone, child, key, key_tag, final, job, updated_at) VALUES (?, ?, ?, ?, 0, ?, 1000)",
                arguments: ["parent.", "a.parent.", Data(old.key), old.keyTag, String(decoding: try JSONEncoder().encode(old), as: UTF8.self)])
        }
        let store = try SQLiteStore(path: path)
        XCTAssertEqual(try store.dueBootstraps(now: 1000).map(\.child), ["a.parent."])
        XCTAssertEqual(try store.dueBootstraps(now: 999).count, 0)
        XCTAssertEqual(try store.bootstrapCounts(), ["verifying": 1])
    }
}

extension XCTestCase {
    /// A store file at an older schema (migrated up to `migration`) holding what `rows` wrote;
    /// removed after the test.
    func oldStore(upTo migration: String, _ rows: (Database) throws -> Void) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("delegsync-\(migration)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: migration)
        try queue.write(rows)
        return path
    }
}

/// A store of delegsync before several agents (schema v7) gets the claims' columns on the
/// upgrade, keeping what it holds; its pending entries are unclaimed.
final class SQLiteStoreClaimsMigrationTests: XCTestCase {
    func testAStoreAtV7MigratesToClaims() throws {
        let parent = try DomainName("parent."), child = try DomainName("child.parent.")
        let path = try oldStore(upTo: "v7-scanner") { db in
            try db.execute(
                sql: "INSERT INTO outbox (zone, child, operations, state, attempts, created_at, next_attempt_at) VALUES (?, ?, ?, 'pending', 0, 5, 5)",
                arguments: ["parent.", "child.parent.", StoredOperations.encode([.deleteName(child)])])
            try db.execute(sql: "INSERT INTO scan_state (zone, child, last_scan_at, last_result) VALUES ('parent.', 'child.parent.', 7, 'waiting')")
        }
        let store = try SQLiteStore(path: path)
        XCTAssertEqual(try store.appliedMigrations().last, "v8-claims")
        XCTAssertEqual(try store.claimDuePending(now: 5, limit: 10).map(\.child), [child])
        XCTAssertEqual(try store.scanState(zone: parent, child: child)?.lastResult, "waiting")
        XCTAssertEqual(try store.statusSecret().count, 32)
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
}
