import DNSWire
import DelegationCore
import Foundation
import GRDB

/// Claims, the lock per child and the streamed listings of ``SQLiteStore`` (the protocol's
/// "several agents" and "operator's views" parts).
extension SQLiteStore {
    func claim(_ entry: OutboxEntry) -> (claimant: String, until: Int64)? {
        StoreQueries.claim(of: entry, claimant: claimant, lease: lease)
    }

    /// SQLite runs one write transaction at a time: selecting and marking in one is atomic.
    public func claimDuePending(now: Int64, limit: Int) throws -> [OutboxEntry] {
        try claim("outbox", StoreQueries.claimablePending(now: now, limit: limit), now: now) { db, id in
            try Row.fetchOne(db, sql: "SELECT * FROM outbox WHERE id = ?", arguments: [id]).map(Self.outboxEntry)
        }
    }

    public func releaseClaim(outboxID: Int64) throws {
        try write("release outbox entry \(outboxID)") { db in
            try db.execute(
                sql: "UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE id = ? AND claimed_by = ?", arguments: [outboxID, claimant])
        }
    }

    public func claimDueBootstraps(now: Int64, limit: Int) throws -> [KeyBootstrap] {
        try claim("bootstrap", StoreQueries.claimableBootstraps(now: now, limit: limit), now: now) { db, id in
            try String.fetchOne(db, sql: "SELECT job FROM bootstrap WHERE id = ?", arguments: [id]).map(Self.job)
        }
    }

    /// Claims the rows of `table` that `candidates` selects, in one write transaction, and
    /// reads each back.
    private func claim<T>(_ table: String, _ candidates: StoreQuery, now: Int64, _ read: (Database, Int64) throws -> T?) throws -> [T] {
        try write("claim due work in \(table)") { db in
            try Self.ids(db, candidates).compactMap { id in
                try db.execute(sql: "UPDATE \(table) SET claimed_by = ?, lease_until = ? WHERE id = ?", arguments: [claimant, now + lease, id])
                return try read(db, id)
            }
        }
    }

    /// Ends the claims of agents of this host that died (``Claimant/isGone(_:)``).
    func releaseClaimsOfTheGone() throws {
        try write("release the claims of agents that stopped") { db in
            for holder in try String.fetchAll(db, sql: Claimant.holders) where Claimant.isGone(holder) {
                for statement in Claimant.release { try db.execute(sql: statement, arguments: [holder]) }
            }
        }
    }

    /// Within this process only (see the type's Limitations).
    public func tryLockChild(zone: DomainName, child: DomainName) throws -> ChildStoreLock? {
        let key = "\(Self.text(zone)) \(Self.text(child))"
        guard lockedChildren.withLockedValue({ $0.insert(key).inserted }) else { return nil }
        return ChildStoreLock { [lockedChildren] in
            _ = lockedChildren.withLockedValue { $0.remove(key) }
        }
    }

    // MARK: The operator's views

    public func eachKey(_ filter: KeyFilter, _ body: (StoredKey) throws -> Void) throws {
        try each(StoreQueries.keys(filter, .sqlite), "list keys") { try body(try Self.storedKey($0)) }
    }

    public func eachAudit(_ filter: AuditFilter, _ body: (AuditEntry) throws -> Void) throws {
        try each(StoreQueries.audit(filter, .sqlite), "read the audit log") { try body(Self.auditEntry($0)) }
    }

    public func eachBootstrap(_ filter: BootstrapFilter, _ body: (KeyBootstrap) throws -> Void) throws {
        try each(StoreQueries.bootstraps(filter), "read bootstrap jobs") { try body(try Self.job($0["job"])) }
    }

    public func putKeys(_ keys: [StoredKey]) throws {
        try write("store \(keys.count) keys") { db in
            for key in keys { try Self.insert(key, into: db) }
        }
    }

    public func appliedMigrations() throws -> [String] {
        try read("read the schema version") { db in
            let applied = try Self.migrator.appliedIdentifiers(db)
            return Self.migrator.migrations.filter { applied.contains($0) }
        }
    }

    /// Runs `query` in one read transaction and hands over its rows one at a time (a cursor:
    /// nothing is collected).
    func each(_ query: StoreQuery, _ what: String, _ body: (Row) throws -> Void) throws {
        try read(what) { db in
            let rows = try Row.fetchCursor(db, sql: query.sql, arguments: Self.arguments(query))
            while let row = try rows.next() { try body(row) }
        }
    }

    static func arguments(_ query: StoreQuery) -> StatementArguments {
        StatementArguments(query.values.map(\.databaseValue))
    }

    private static func ids(_ db: Database, _ query: StoreQuery) throws -> [Int64] {
        try Int64.fetchAll(db, sql: query.sql, arguments: arguments(query))
    }
}

extension StoreValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .int(let value): value.databaseValue
        case .text(let value): value.databaseValue
        case .bytes(let value): Data(value).databaseValue
        case .double(let value): value.databaseValue
        case .null: .null
        }
    }
}
