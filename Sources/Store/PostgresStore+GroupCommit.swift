import DelegationCore
import Foundation
import PostgresNIO

/// The receive path's writes on PostgreSQL: the replay state, budgets and audit rows of requests
/// that arrive together in one transaction (group commit), in about ten round trips for the
/// whole batch instead of about twelve for every request.
extension PostgresStore {
    /// All `writes` in one transaction, in order: a signature admitted earlier in the batch is
    /// a replay later in it (RFC 2931 §3.3). If any write fails the transaction is rolled back,
    /// so nothing of the batch is stored and the caller acknowledges none of it.
    ///
    /// Several agents on one database stay one truth (``PostgresAdmissionBatch``): the key's
    /// replay rows and the budgets are locked in one order (sorted), and a signature is admitted
    /// only by inserting its digest under the table's unique key, so of two agents given the
    /// same signed UPDATE exactly one admits it.
    public func commit(_ writes: [StoreWrite]) throws -> [StoreWriteResult] {
        guard !writes.isEmpty else { return [] }
        return try transaction("write \(writes.count) requests' replay state and audit rows") { session in
            var admissions: [(index: Int, admission: Admission, now: Int64)] = []
            var audits: [(index: Int, entry: AuditEntry)] = []
            for (index, write) in writes.enumerated() {
                switch write {
                case .admit(let admission, let now): admissions.append((index, admission, now))
                case .appendAudit(let entry): audits.append((index, entry))
                }
            }
            var results = [StoreWriteResult?](repeating: nil, count: writes.count)
            if !admissions.isEmpty {
                let verdicts = try PostgresAdmissionBatch(admissions.map { ($0.admission, $0.now) }).run(in: session)
                for (admission, verdict) in zip(admissions, verdicts) { results[admission.index] = .verdict(verdict) }
            }
            if !audits.isEmpty {
                let ids = try Self.append(audits.map(\.entry), in: session)
                for (audit, id) in zip(audits, ids) { results[audit.index] = .audit(id: id) }
            }
            return results.map { $0! }
        }
    }

    /// Appends `entries` in the caller's transaction, in order; the ids they were given
    /// (ascending, in the entries' order). Two round trips: the ids from the table's sequence,
    /// then one INSERT for every row.
    static func append(_ entries: [AuditEntry], in session: PostgresSession) throws -> [Int64] {
        let ids = try session.rows(
            "SELECT nextval(pg_get_serial_sequence('audit', 'id')) AS id FROM generate_series(1, ?)", [.int(Int64(entries.count))]
        ).map { try PostgresRows.int($0, "id", "audit") }.sorted()
        guard ids.count == entries.count else { throw StoreError(.write, "the audit sequence gave \(ids.count) ids for \(entries.count) entries") }
        var values: [StoreValue] = []
        values.reserveCapacity(entries.count * 12)
        for (entry, id) in zip(entries, ids) {
            values += [
                .int(id), .int(entry.time), .text(entry.source), .text(entry.transport), entry.zone.map(StoreValue.text) ?? .null,
                entry.signer.map(StoreValue.text) ?? .null, entry.keyTag.map { .int(Int64($0)) } ?? .null, .text(entry.request),
                .text(entry.decision), .text(entry.reason), entry.backendResult.map(StoreValue.text) ?? .null, .int(Int64(entry.count)),
            ]
        }
        try session.execute(
            "INSERT INTO audit (id, time, source, transport, zone, signer, key_tag, request, decision, reason, backend_result, count) VALUES "
                + StoreQueries.rows(entries.count, columns: 12),
            values)
        return ids
    }
}

/// The admissions of one group commit on PostgreSQL (RFC 2931 §3.3 and the per-child budget),
/// with the semantics of ``SQLiteAdmissionBatch`` — one admission after another, each seeing
/// what the ones before it did — in a fixed number of statements:
///
/// 1. the replay rows of the batch's keys, locked (`FOR UPDATE`, sorted);
/// 2. the batch's budgets, created full where missing and locked (sorted);
/// 3. the rows of the batch's signatures that exist;
/// 4. the admissions decided in order, in memory;
/// 5. the digests of the admitted signatures inserted (`ON CONFLICT DO NOTHING`, sorted): one
///    that another agent inserted meanwhile is not inserted, and its admission becomes a
///    replay (the other agent admitted it); a row that had expired is taken over only if it is
///    still the row that was read;
/// 6. the budgets and newest inceptions written once each, from the admissions that stand.
///
/// Locks are taken in one order everywhere (replay rows, then budgets, then signatures, each
/// sorted), as ``PostgresStore/admit(_:now:)`` takes them, so two agents' batches wait for each
/// other rather than deadlock; should the server still pick one as a deadlock victim, the whole
/// transaction is run again (``PostgresStore/transaction(_:_:)``), and this batch with it.
struct PostgresAdmissionBatch {
    let admissions: [(admission: Admission, now: Int64)]

    init(_ admissions: [(Admission, Int64)]) {
        self.admissions = admissions.map { (admission: $0.0, now: $0.1) }
    }

    /// A key's replay row, names as stored.
    struct ReplayKey: Hashable, Comparable {
        let zone: String
        let child: String
        let digest: [UInt8]

        init(_ key: KeyIdentity) {
            zone = StoreQueries.text(key.zone)
            child = StoreQueries.text(key.child)
            digest = key.digest
        }

        init(zone: String, child: String, digest: [UInt8]) {
            self.zone = zone
            self.child = child
            self.digest = digest
        }

        static func < (a: ReplayKey, b: ReplayKey) -> Bool {
            (a.zone, a.child) != (b.zone, b.child) ? (a.zone, a.child) < (b.zone, b.child) : a.digest.lexicographicallyPrecedes(b.digest)
        }
    }

    typealias Bucket = (tokens: Double, updatedAt: Int64)

    /// The verdicts, in the admissions' order.
    func run(in session: PostgresSession) throws -> [Admission.Verdict] {
        let inceptions = try lockReplayRows(in: session)
        let buckets = try lockBudgets(in: session)
        let seen = try seenSignatures(in: session)
        var verdicts = decide(inceptions: inceptions, buckets: buckets, seen: seen)
        // What was admitted is inserted; a digest another agent inserted since it was read was
        // admitted there, so here it is a replay. Every other verdict stands: a refusal that the
        // replayed admission caused (its inception, its token) is kept, as the other agent's
        // admission makes it right.
        let taken = try record(verdicts, seen: seen, in: session)
        if !taken.isEmpty {
            verdicts = zip(admissions, verdicts).map { admission, verdict in
                verdict == .admitted && taken.contains(admission.admission.signatureDigest) ? .replayed : verdict
            }
        }
        try write(verdicts, inceptions: inceptions, buckets: buckets, in: session)
        return verdicts
    }

    /// 1. The newest accepted inception of each key of the batch, its row locked.
    func lockReplayRows(in session: PostgresSession) throws -> [ReplayKey: UInt32] {
        let keys = Set(admissions.map { ReplayKey($0.admission.key) }).sorted()
        var values: [StoreValue] = []
        for key in keys { values += [.text(key.zone), .text(key.child), .bytes(key.digest)] }
        var inceptions: [ReplayKey: UInt32] = [:]
        for row in try session.rows(
            "SELECT zone, child, digest, last_inception FROM replay WHERE (zone, child, digest) IN (\(StoreQueries.rows(keys.count, columns: 3)))"
                + " ORDER BY zone, child, digest FOR UPDATE", values)
        {
            let key = ReplayKey(
                zone: try PostgresRows.text(row, "zone", "replay"), child: try PostgresRows.text(row, "child", "replay"),
                digest: try PostgresRows.bytes(row, "digest", "replay"))
            inceptions[key] = UInt32(truncatingIfNeeded: try PostgresRows.int(row, "last_inception", "replay"))
        }
        return inceptions
    }

    /// 2. Each budget of the batch as stored (a missing one created full at the time of its
    /// first admission), its row locked.
    func lockBudgets(in session: PostgresSession) throws -> [String: Bucket] {
        var first: [String: (perHour: Int, now: Int64)] = [:]
        for (admission, now) in admissions {
            if let budget = admission.budget, first[budget.name] == nil { first[budget.name] = (budget.perHour, now) }
        }
        guard !first.isEmpty else { return [:] }
        let names = first.keys.sorted()
        var values: [StoreValue] = []
        for name in names {
            let full = TokenBucket(capacity: first[name]!.perHour, interval: 3600, now: first[name]!.now)
            values += [.text(name), .double(full.tokens), .int(full.updatedAt)]
        }
        try session.execute(
            "INSERT INTO budgets (name, tokens, updated_at) VALUES \(StoreQueries.rows(names.count, columns: 3)) ON CONFLICT (name) DO NOTHING", values)
        var buckets: [String: Bucket] = [:]
        for row in try session.rows(
            "SELECT name, tokens, updated_at FROM budgets WHERE name IN (\(StoreQueries.rows(names.count, columns: 1))) ORDER BY name FOR UPDATE",
            names.map(StoreValue.text))
        {
            buckets[try PostgresRows.text(row, "name", "budgets")] = (
                try row["tokens"].decode(Double.self), try PostgresRows.int(row, "updated_at", "budgets")
            )
        }
        return buckets
    }

    /// 3. Until when each signature of the batch that has a row was (or is) seen.
    func seenSignatures(in session: PostgresSession) throws -> [[UInt8]: Int64] {
        let digests = Set(admissions.map(\.admission.signatureDigest)).sorted { $0.lexicographicallyPrecedes($1) }
        var seen: [[UInt8]: Int64] = [:]
        for row in try session.rows(
            "SELECT digest, expires_at FROM seen_signatures WHERE digest IN (\(StoreQueries.rows(digests.count, columns: 1)))", digests.map(StoreValue.bytes))
        {
            seen[try PostgresRows.bytes(row, "digest", "seen_signatures")] = try PostgresRows.int(row, "expires_at", "seen_signatures")
        }
        return seen
    }

    /// 4. The admissions in order, each against what the ones before it left: the inception
    /// must not be older than the newest accepted from its key, the signature not seen within
    /// its validity, the budget must have a token.
    func decide(inceptions: [ReplayKey: UInt32], buckets: [String: Bucket], seen: [[UInt8]: Int64]) -> [Admission.Verdict] {
        var inceptions = inceptions
        var buckets = buckets
        var seen = seen
        return admissions.map { admission, now in
            let key = ReplayKey(admission.key)
            if let last = inceptions[key], Int64(admission.inception) < Int64(last) { return .older(last) }
            let digest = admission.signatureDigest
            if let until = seen[digest], until >= now { return .replayed }
            if let budget = admission.budget {
                var bucket =
                    buckets[budget.name].map { TokenBucket(capacity: budget.perHour, interval: 3600, tokens: $0.tokens, updatedAt: $0.updatedAt) }
                    ?? TokenBucket(capacity: budget.perHour, interval: 3600, now: now)
                guard bucket.take(now: now) else { return .rateLimited }
                buckets[budget.name] = (bucket.tokens, bucket.updatedAt)
            }
            seen[digest] = admission.expiresAt
            inceptions[key] = max(inceptions[key] ?? 0, admission.inception)
            return .admitted
        }
    }

    /// 5. The digests of the admitted signatures inserted; those another agent inserted (or
    /// renewed) since they were read.
    func record(_ verdicts: [Admission.Verdict], seen: [[UInt8]: Int64], in session: PostgresSession) throws -> Set<[UInt8]> {
        var fresh: [[UInt8]: Int64] = [:]
        var renewed: [[UInt8]: (read: Int64, until: Int64)] = [:]
        for ((admission, _), verdict) in zip(admissions, verdicts) where verdict == .admitted {
            let digest = admission.signatureDigest
            if let read = seen[digest] {
                renewed[digest] = (read, admission.expiresAt)
            } else {
                fresh[digest] = admission.expiresAt
            }
        }
        var taken: Set<[UInt8]> = []
        if !fresh.isEmpty {
            let digests = fresh.keys.sorted { $0.lexicographicallyPrecedes($1) }
            var values: [StoreValue] = []
            for digest in digests { values += [.bytes(digest), .int(fresh[digest]!)] }
            let inserted = Set(
                try session.rows(
                    "INSERT INTO seen_signatures (digest, expires_at) VALUES \(StoreQueries.rows(digests.count, columns: 2)) ON CONFLICT (digest) DO NOTHING RETURNING digest",
                    values
                ).map { try PostgresRows.bytes($0, "digest", "seen_signatures") })
            taken.formUnion(digests.filter { !inserted.contains($0) })
        }
        // A row that had expired (rare: the signature's own time check refuses it first) is
        // taken over only if nobody renewed it since it was read; if it was pruned meanwhile,
        // the digest is inserted as a new one would be.
        for digest in renewed.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let (read, until) = renewed[digest]!
            var changed = try session.execute(
                "UPDATE seen_signatures SET expires_at = ? WHERE digest = ? AND expires_at = ?", [.int(until), .bytes(digest), .int(read)])
            if changed == 0 {
                changed = try session.execute(
                    "INSERT INTO seen_signatures (digest, expires_at) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING", [.bytes(digest), .int(until)])
            }
            if changed != 1 { taken.insert(digest) }
        }
        return taken
    }

    /// 6. The budgets and newest inceptions the admissions that stand leave, written once each.
    func write(_ verdicts: [Admission.Verdict], inceptions: [ReplayKey: UInt32], buckets: [String: Bucket], in session: PostgresSession) throws {
        var newest: [ReplayKey: UInt32] = [:]
        var spent: [String: Bucket] = [:]
        var remaining = buckets
        for ((admission, now), verdict) in zip(admissions, verdicts) where verdict == .admitted {
            let key = ReplayKey(admission.key)
            newest[key] = max(newest[key] ?? inceptions[key] ?? 0, admission.inception)
            if let budget = admission.budget {
                var bucket =
                    remaining[budget.name].map { TokenBucket(capacity: budget.perHour, interval: 3600, tokens: $0.tokens, updatedAt: $0.updatedAt) }
                    ?? TokenBucket(capacity: budget.perHour, interval: 3600, now: now)
                _ = bucket.take(now: now)
                remaining[budget.name] = (bucket.tokens, bucket.updatedAt)
                spent[budget.name] = remaining[budget.name]
            }
        }
        if !spent.isEmpty {
            let names = spent.keys.sorted()
            var values: [StoreValue] = []
            for name in names { values += [.text(name), .double(spent[name]!.tokens), .int(spent[name]!.updatedAt)] }
            try session.execute(
                "UPDATE budgets AS b SET tokens = v.tokens, updated_at = v.updated_at FROM (VALUES \(StoreQueries.rows(names.count, columns: 3)))"
                    + " AS v(name, tokens, updated_at) WHERE b.name = v.name", values)
        }
        if !newest.isEmpty {
            let keys = newest.keys.sorted()
            var values: [StoreValue] = []
            for key in keys { values += [.text(key.zone), .text(key.child), .bytes(key.digest), .int(Int64(newest[key]!))] }
            try session.execute(
                "INSERT INTO replay (zone, child, digest, last_inception) VALUES \(StoreQueries.rows(keys.count, columns: 4))"
                    + " ON CONFLICT (zone, child, digest) DO UPDATE SET last_inception = GREATEST(replay.last_inception, excluded.last_inception)", values)
        }
    }
}
