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
    /// Expired signatures are pruned once for the batch, not once per admission; each key's
    /// replay row and each budget is read and written once for the batch
    /// (``SQLiteAdmissionBatch``).
    public func commit(_ writes: [StoreWrite]) throws -> [StoreWriteResult] {
        try write("write \(writes.count) requests' replay state and audit rows") { db in
            let earliest = writes.compactMap { write -> Int64? in
                guard case .admit(_, let now) = write else { return nil }
                return now
            }.min()
            if let earliest { try Self.pruneSignatures(before: earliest, in: db) }
            var admissions = SQLiteAdmissionBatch(in: db)
            let results = try writes.map { write -> StoreWriteResult in
                switch write {
                case .admit(let admission, let now): .verdict(try admissions.admit(admission, now: now))
                case .appendAudit(let entry): .audit(id: try Self.append(entry, in: db))
                }
            }
            try admissions.finish()
            return results
        }
    }

    /// RFC 2931 §3.3 and the per-child budget in the caller's write transaction
    /// (``SQLiteAdmissionBatch/admit(_:now:)``); the rows of expired signatures are pruned on
    /// the way.
    static func admit(_ admission: Admission, now: Int64, in db: Database) throws -> Admission.Verdict {
        try pruneSignatures(before: now, in: db)
        var admissions = SQLiteAdmissionBatch(in: db)
        let verdict = try admissions.admit(admission, now: now)
        try admissions.finish()
        return verdict
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
