import DelegationCore
import Foundation
import GRDB

/// The receive path's writes: replay state and budgets (RFC 2931 §3.3), audit rows, and many of
/// them in one transaction (group commit). Every statement is a cached (prepared) one: the
/// request path runs them for every UPDATE.
extension SQLiteStore {
    /// All `writes` in one write transaction, in order: a signature admitted earlier in the batch
    /// is a replay later in it. If any write fails the transaction is rolled back, so nothing of
    /// the batch is stored and the caller acknowledges none of it.
    /// Expired signatures are pruned once for the batch, not once per admission.
    public func commit(_ writes: [StoreWrite]) throws -> [StoreWriteResult] {
        try write("write \(writes.count) requests' replay state and audit rows") { db in
            let earliest = writes.compactMap { write -> Int64? in
                guard case .admit(_, let now) = write else { return nil }
                return now
            }.min()
            if let earliest { try Self.pruneSignatures(before: earliest, in: db) }
            return try writes.map { write in
                switch write {
                case .admit(let admission, let now): .verdict(try Self.admit(admission, now: now, in: db, pruned: true))
                case .appendAudit(let entry): .audit(id: try Self.append(entry, in: db))
                }
            }
        }
    }

    /// RFC 2931 §3.3 and the per-child budget, inside the caller's write transaction: the
    /// inception must not be older than the newest accepted from this key, the signature must not
    /// have been accepted before (within its validity), and the budget must have a token. Only an
    /// admitted request changes anything. An expired signature counts as never seen; the rows of
    /// expired ones are pruned on the way, unless the caller did that already (`pruned`).
    static func admit(_ admission: Admission, now: Int64, in db: Database, pruned: Bool = false) throws -> Admission.Verdict {
        let key = admission.key
        let zone = text(key.zone), child = text(key.child), digest = Data(key.digest)
        let last = try UInt32.fetchOne(
            db.cachedStatement(sql: "SELECT last_inception FROM replay WHERE zone = ? AND child = ? AND digest = ?"),
            arguments: [zone, child, digest])
        if let last, Int64(admission.inception) < Int64(last) { return .older(last) }
        if !pruned { try pruneSignatures(before: now, in: db) }
        let signature = Data(admission.signatureDigest)
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM seen_signatures WHERE digest = ? AND expires_at >= ?"), arguments: [signature, now])
            != nil
        {
            return .replayed
        }
        if let budget = admission.budget {
            var bucket = TokenBucket(capacity: budget.perHour, interval: 3600, now: now)
            if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT tokens, updated_at FROM budgets WHERE name = ?"), arguments: [budget.name]) {
                bucket = TokenBucket(capacity: budget.perHour, interval: 3600, tokens: row["tokens"], updatedAt: row["updated_at"])
            }
            guard bucket.take(now: now) else { return .rateLimited }
            try db.cachedStatement(
                sql: """
                    INSERT INTO budgets (name, tokens, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at
                    """
            ).execute(arguments: [budget.name, bucket.tokens, bucket.updatedAt])
        }
        try db.cachedStatement(
            sql: "INSERT INTO seen_signatures (digest, expires_at) VALUES (?, ?) ON CONFLICT (digest) DO UPDATE SET expires_at = excluded.expires_at"
        ).execute(arguments: [signature, admission.expiresAt])
        if last != admission.inception {
            try db.cachedStatement(
                sql: """
                    INSERT INTO replay (zone, child, digest, last_inception) VALUES (?, ?, ?, ?)
                    ON CONFLICT (zone, child, digest) DO UPDATE SET last_inception = excluded.last_inception
                    """
            ).execute(arguments: [zone, child, digest, admission.inception])
        }
        return .admitted
    }

    /// Forgets the signatures that expired before `now` (they can no longer be replayed).
    static func pruneSignatures(before now: Int64, in db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM seen_signatures WHERE expires_at < ?").execute(arguments: [now])
    }

    /// Appends `entry` (its `id` is ignored) inside the caller's write transaction; returns the
    /// id it was given.
    static func append(_ entry: AuditEntry, in db: Database) throws -> Int64 {
        try db.cachedStatement(
            sql: """
                INSERT INTO audit (time, source, transport, zone, signer, key_tag, request, decision, reason, backend_result, count)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                entry.time, entry.source, entry.transport, entry.zone, entry.signer, entry.keyTag,
                entry.request, entry.decision, entry.reason, entry.backendResult, entry.count,
            ])
        return db.lastInsertedRowID
    }
}
