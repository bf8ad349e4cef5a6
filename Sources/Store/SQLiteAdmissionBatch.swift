import DelegationCore
import Foundation
import GRDB

/// The admissions of one write transaction (RFC 2931 §3.3 and the per-child budget) for
/// ``SQLiteStore``: each key's replay row and each budget row is read at most once per
/// transaction and written at most once, by ``finish()``; each signature costs one statement
/// that both checks and records it. One admission (``SQLiteStore/admit(_:now:)``) and a group
/// commit (``SQLiteStore/commit(_:)``) go through the same code.
///
/// The caller runs every admission and then ``finish()`` in one write transaction; if anything
/// throws, the transaction is rolled back and nothing of the batch is stored.
struct SQLiteAdmissionBatch {
    private let db: Database
    /// The newest inception accepted per key, as this transaction sees it, and whether it
    /// differs from the stored row.
    private var inceptions: [ReplayKey: (last: UInt32?, changed: Bool)] = [:]
    /// Each budget as this transaction sees it (nil: no row, a full bucket), and whether it
    /// differs from the stored row.
    private var budgets: [String: (stored: (tokens: Double, updatedAt: Int64)?, changed: Bool)] = [:]

    /// A key's replay row: names as stored (lower-cased text), so that two spellings of one
    /// name share one entry as they share one row.
    private struct ReplayKey: Hashable {
        let zone: String
        let child: String
        let digest: Data

        init(_ key: KeyIdentity) {
            zone = SQLiteStore.text(key.zone)
            child = SQLiteStore.text(key.child)
            digest = Data(key.digest)
        }
    }

    init(in db: Database) {
        self.db = db
    }

    /// The inception must not be older than the newest accepted from this key, the signature
    /// must not have been accepted before within its validity (an expired one counts as never
    /// seen), and the budget must have a token. Only an admitted request changes anything.
    mutating func admit(_ admission: Admission, now: Int64) throws -> Admission.Verdict {
        let key = ReplayKey(admission.key)
        let last = try lastInception(key)
        if let last, Int64(admission.inception) < Int64(last) { return .older(last) }
        // The check and the record in one statement: a row that has not expired by `now` stays
        // as it is, and no row changes — the signature is a replay.
        let signature = Data(admission.signatureDigest)
        try db.cachedStatement(
            sql: """
                INSERT INTO seen_signatures (digest, expires_at) VALUES (?, ?)
                ON CONFLICT (digest) DO UPDATE SET expires_at = excluded.expires_at WHERE seen_signatures.expires_at < ?
                """
        ).execute(arguments: [signature, admission.expiresAt, now])
        guard db.changesCount == 1 else { return .replayed }
        if let budget = admission.budget {
            let stored = try budgetRow(budget.name)
            var bucket =
                stored.map { TokenBucket(capacity: budget.perHour, interval: 3600, tokens: $0.tokens, updatedAt: $0.updatedAt) }
                ?? TokenBucket(capacity: budget.perHour, interval: 3600, now: now)
            guard bucket.take(now: now) else {
                // Not admitted: the signature is forgotten again (its row, if one was there, had
                // expired: it counted as never seen, and pruning would have removed it).
                try db.cachedStatement(sql: "DELETE FROM seen_signatures WHERE digest = ?").execute(arguments: [signature])
                return .rateLimited
            }
            budgets[budget.name] = ((bucket.tokens, bucket.updatedAt), true)
        }
        if last != admission.inception { inceptions[key] = (admission.inception, true) }
        return .admitted
    }

    /// Writes the replay and budget rows the admissions changed, once each.
    func finish() throws {
        for (name, budget) in budgets where budget.changed {
            guard let stored = budget.stored else { continue }
            try db.cachedStatement(
                sql: """
                    INSERT INTO budgets (name, tokens, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at
                    """
            ).execute(arguments: [name, stored.tokens, stored.updatedAt])
        }
        for (key, replay) in inceptions where replay.changed {
            guard let last = replay.last else { continue }
            try db.cachedStatement(
                sql: """
                    INSERT INTO replay (zone, child, digest, last_inception) VALUES (?, ?, ?, ?)
                    ON CONFLICT (zone, child, digest) DO UPDATE SET last_inception = excluded.last_inception
                    """
            ).execute(arguments: [key.zone, key.child, key.digest, last])
        }
    }

    private mutating func lastInception(_ key: ReplayKey) throws -> UInt32? {
        if let known = inceptions[key] { return known.last }
        let last = try UInt32.fetchOne(
            db.cachedStatement(sql: "SELECT last_inception FROM replay WHERE zone = ? AND child = ? AND digest = ?"),
            arguments: [key.zone, key.child, key.digest])
        inceptions[key] = (last, false)
        return last
    }

    private mutating func budgetRow(_ name: String) throws -> (tokens: Double, updatedAt: Int64)? {
        if let known = budgets[name] { return known.stored }
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT tokens, updated_at FROM budgets WHERE name = ?"), arguments: [name])
        let stored = row.map { (tokens: $0["tokens"] as Double, updatedAt: $0["updated_at"] as Int64) }
        budgets[name] = (stored, false)
        return stored
    }
}
