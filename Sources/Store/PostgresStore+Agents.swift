import DNSWire
import DelegationCore
import Foundation
import Logging
import PostgresNIO

/// Claims, the lock per child and the streamed listings of ``PostgresStore``.
extension PostgresStore {
    /// `FOR UPDATE SKIP LOCKED` on the free due entries, then the claim, in one transaction:
    /// two agents claiming at once get disjoint sets, and neither waits for the other.
    public func claimDuePending(now: Int64, limit: Int) throws -> [OutboxEntry] {
        try transaction("claim due outbox entries") { session in
            try session.rows(claim("outbox", StoreQueries.claimablePending(now: now, limit: limit), now: now)).map(PostgresRows.outboxEntry)
                .sorted { ($0.id ?? 0) < ($1.id ?? 0) }
        }
    }

    public func releaseClaim(outboxID: Int64) throws {
        try transaction("release outbox entry \(outboxID)") { session in
            try session.execute(
                "UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE id = ? AND claimed_by = ?", [.int(outboxID), .text(claimant)])
        }
    }

    public func claimDueBootstraps(now: Int64, limit: Int) throws -> [KeyBootstrap] {
        try transaction("claim due bootstrap jobs") { session in
            try session.rows(claim("bootstrap", StoreQueries.claimableBootstraps(now: now, limit: limit), now: now))
                .sorted { try PostgresRows.int($0, "due_at", "bootstrap") < PostgresRows.int($1, "due_at", "bootstrap") }
                .map(PostgresRows.job)
        }
    }

    /// Ends the claims of agents of this host that died (``Claimant/isGone(_:)``).
    func releaseClaimsOfTheGone() throws {
        try transaction("release the claims of agents that stopped") { session in
            for row in try session.rows(Claimant.holders) {
                let holder = try PostgresRows.text(row, "claimed_by", "outbox")
                guard Claimant.isGone(holder) else { continue }
                for statement in Claimant.release { try session.execute(statement, [.text(holder)]) }
            }
        }
    }

    /// `UPDATE table SET claim … WHERE id IN (candidates FOR UPDATE SKIP LOCKED) RETURNING *`.
    private func claim(_ table: String, _ candidates: StoreQuery, now: Int64) -> StoreQuery {
        StoreQuery(
            sql: """
                UPDATE \(table) SET claimed_by = ?, lease_until = ?
                WHERE id IN (\(candidates.sql) FOR UPDATE SKIP LOCKED) RETURNING *
                """,
            values: [.text(claimant), .int(now + lease)] + candidates.values)
    }

    /// A session advisory lock keyed by a 64-bit hash of zone and child, on a connection of its
    /// own that stays with the lock while it is held (the pool's connections stay free for the
    /// work done under the lock). The server releases it when that connection closes, so a
    /// holder that dies does not block the child. Released, the connection serves the next lock.
    public func tryLockChild(zone: DomainName, child: DomainName) throws -> ChildStoreLock? {
        let name: [StoreValue] = [.text("\(StoreQueries.text(zone)) \(StoreQueries.text(child))")]
        let connection = try connections.lockConnection()
        let session = PostgresSession(connection: connection, logger: connection.logger)
        do {
            let row = try session.rows("SELECT pg_try_advisory_lock(hashtextextended(?, 0)) AS held", name)
            guard try row.first?["held"].decode(Bool.self) == true else {
                connections.giveBack(connection)
                return nil
            }
        } catch {
            PostgresConnections.close(connection)
            throw StoreError(.write, "cannot lock \(child) in store \(location): \(PostgresSession.explain(error))")
        }
        return ChildStoreLock { [connections] in
            let released = try? session.rows("SELECT pg_advisory_unlock(hashtextextended(?, 0)) AS released", name).first?["released"].decode(Bool.self)
            if released == true {
                connections.giveBack(connection)
            } else {
                // Closing the connection releases whatever it still holds.
                PostgresConnections.close(connection)
            }
        }
    }

    // MARK: The operator's views

    public func eachKey(_ filter: KeyFilter, _ body: (StoredKey) throws -> Void) throws {
        try each(StoreQueries.keys(filter, .postgresql), "list keys") { try body(try PostgresRows.storedKey($0)) }
    }

    public func eachAudit(_ filter: AuditFilter, _ body: (AuditEntry) throws -> Void) throws {
        try each(StoreQueries.audit(filter, .postgresql), "read the audit log") { try body(try PostgresRows.auditEntry($0)) }
    }

    public func eachBootstrap(_ filter: BootstrapFilter, _ body: (KeyBootstrap) throws -> Void) throws {
        try each(StoreQueries.bootstraps(filter), "read bootstrap jobs") { try body(try PostgresRows.job($0)) }
    }

    /// Rows fetched through a cursor, `batch` at a time: memory holds one batch, however many
    /// rows match.
    func each(_ query: StoreQuery, _ what: String, batch: Int = 1000, _ body: (PostgresRandomAccessRow) throws -> Void) throws {
        try transaction(what) { session in
            try session.execute("DECLARE listing NO SCROLL CURSOR FOR " + query.sql, query.values)
            while true {
                let rows = try session.rows("FETCH \(batch) FROM listing")
                for row in rows { try body(row) }
                if rows.count < batch { break }
            }
            try session.execute("CLOSE listing")
        }
    }
}
