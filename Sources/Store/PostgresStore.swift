import DNSWire
import DelegationCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// The ``DelegationStore`` several agents share: one PostgreSQL database, through postgres-nio.
/// Replication and failover of the database are PostgreSQL's business; delegsync only needs
/// every agent to reach the same primary.
///
/// What several agents on one database share, and how it stays one truth:
/// - trust store, audit log, bootstrap jobs and the outbox are rows every agent reads;
/// - replay protection is atomic across agents: a signature is admitted by inserting its digest
///   under a unique key, so of two agents given the same signed UPDATE exactly one inserts it;
///   budgets are rows locked while a token is taken;
/// - outbox entries and bootstrap jobs are claimed (`FOR UPDATE SKIP LOCKED`, then `claimed_by`
///   and `lease_until`): one agent works on each, and the claim of an agent that died expires
///   after the lease, when another takes the work over (applying a change twice changes
///   nothing: the outbox compares with the parent's data first);
/// - changes for one child are serialised across agents by a session advisory lock per child
///   (``tryLockChild(zone:child:)``), released by the server when the holder's connection
///   dies.
///
/// Names are stored as lower-cased presentation text and times as Unix seconds, as in
/// ``SQLiteStore``; the schema has the same tables, columns and migrations. The methods block
/// the calling thread for one transaction each: ``PostgresConnections`` explains how, and why
/// that cannot deadlock an event loop.
///
/// ## Limitations
/// - No TLS: connect over loopback or a network you trust (`sslmode` other than `disable` is
///   refused), or through a local TLS tunnel.
/// - ``admit(_:now:)`` compares inceptions as plain numbers, as ``SQLiteStore`` does.
public final class PostgresStore: DelegationStore {
    let connections: PostgresConnections
    /// Where the database is, for messages (no password).
    public let location: String
    /// This instance's name in claims.
    public let claimant = Claimant.make()
    /// Seconds a claim lasts.
    public let lease: Int64

    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`) and brings the
    /// schema up to date; at most `connections` statements run at once.
    public convenience init(
        url: String, lease: Int64 = StoreLocation.defaultLease, connections: Int = StoreLocation.defaultConnections, logger: Logger? = nil
    ) throws {
        try self.init(url: url, lease: lease, connections: connections, logger: logger, migrate: true)
    }

    private init(url: String, lease: Int64, connections: Int, logger: Logger?, migrate: Bool) throws {
        var (configuration, location) = try Self.configuration(url: url)
        // A reader's transactions are read-only on the server: a write through it fails.
        if !migrate { configuration.options.additionalStartupParameters.append(("default_transaction_read_only", "on")) }
        self.location = location
        self.lease = lease
        var quiet = logger ?? Logger(label: "delegsync.store.postgresql")
        if logger == nil { quiet.logLevel = .critical }
        self.connections = PostgresConnections(configuration: configuration, maximum: connections, location: location, logger: quiet)
        guard migrate else { return }
        try self.migrate()
        try releaseClaimsOfTheGone()
    }

    /// Connects to `url` for commands that only look (`status`, `audit`, `keys list`): nothing
    /// is created or changed (its transactions are read-only). Throws when the database has no delegsync schema yet or an older
    /// one than this delegsync's (the agent brings it up to date when it starts).
    public static func existing(readingAt url: String, connections: Int = 2) throws -> PostgresStore {
        let store = try PostgresStore(url: url, lease: StoreLocation.defaultLease, connections: connections, logger: nil, migrate: false)
        let hasSchema = try store.transaction("read the schema version") { session in
            try session.rows("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")[0]["present"].decode(Bool.self)
        }
        guard hasSchema, try store.appliedMigrations() == migrations.flatMap(\.names) else {
            throw StoreError(
                .migrate,
                "store \(store.location) has " + (hasSchema ? "an older schema than this delegsync" : "no delegsync schema yet")
                    + ": start the agent (delegsync serve) once to bring it up to date")
        }
        return store
    }

    /// Reads a `postgres://` URL. Only `sslmode=disable` (the default) is accepted.
    static func configuration(url: String) throws -> (PostgresConnection.Configuration, String) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw StoreError(.open, "store.url \"\(url)\" is not a postgres:// URL (postgres://USER@HOST:PORT/DATABASE)")
        }
        var shown = components
        if shown.password != nil { shown.password = "…" }
        let location = shown.string ?? "postgres://"
        guard let host = components.host, !host.isEmpty else { throw StoreError(.open, "store.url \(location) names no host") }
        guard let user = components.user, !user.isEmpty else { throw StoreError(.open, "store.url \(location) names no user (postgres://USER@HOST/…)") }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode", item.value == "disable" else {
                throw StoreError(
                    .open, "store.url \(location): \(item.name)=\(item.value ?? "") is not supported (only sslmode=disable; TLS is not implemented)")
            }
        }
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password, database: database.isEmpty ? nil : database,
            tls: .disable)
        return (configuration, location)
    }

    // MARK: Transactions

    /// Runs `body` in one transaction (READ COMMITTED, row locks where it matters), committed
    /// when it returns and rolled back when it throws; retried up to three times when the server
    /// picks it as a deadlock or serialisation victim.
    @discardableResult
    func transaction<T>(_ what: @autoclosure () -> String, _ body: (PostgresSession) throws -> T) throws -> T {
        do {
            return try connections.withSession { session in
                var attempt = 1
                while true {
                    try session.execute("BEGIN")
                    do {
                        let result = try body(session)
                        try session.execute("COMMIT")
                        return result
                    } catch {
                        if !session.connection.isClosed { _ = try? session.execute("ROLLBACK") }
                        guard attempt < 3, ["40001", "40P01"].contains(PostgresSession.sqlState(error) ?? "") else { throw error }
                        attempt += 1
                    }
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.write, "cannot \(what()) in store \(location): \(PostgresSession.explain(error))")
        }
    }

    /// Runs one SELECT on its own, without BEGIN and COMMIT around it (one round trip instead
    /// of three): a single statement reads one snapshot. For the lookups of the receive path.
    func query(_ what: @autoclosure () -> String, _ sql: String, _ values: [StoreValue]) throws -> [PostgresRandomAccessRow] {
        do {
            return try connections.withSession { try $0.rows(sql, values) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.write, "cannot \(what()) in store \(location): \(PostgresSession.explain(error))")
        }
    }

    // MARK: Trust store

    static func keyValues(_ key: StoredKey) -> [StoreValue] {
        [
            .text(StoreQueries.text(key.zone)), .text(StoreQueries.text(key.child)), .int(Int64(key.keyTag)), .int(Int64(key.algorithm)), .bytes(key.rdata),
            .bytes(KEYData.digest(rdata: key.rdata)), .text(key.state.rawValue), .int(key.addedAt), .text(key.origin),
        ]
    }

    static let insertKey = """
        INSERT INTO keys (zone, child, key_tag, algorithm, rdata, digest, state, added_at, origin)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (zone, child, digest)
        DO UPDATE SET state = excluded.state, origin = excluded.origin
        """

    public func putKey(_ key: StoredKey) throws {
        try transaction("store key \(key.keyTag) of \(key.child)") { try $0.execute(Self.insertKey, Self.keyValues(key)) }
    }

    /// In one transaction, 500 keys per statement (one round trip each); of keys with the same
    /// identity in one call the last counts, as with ``putKey(_:)`` one after another.
    public func putKeys(_ keys: [StoredKey]) throws {
        var last: [KeyIdentity: Int] = [:]
        for (index, key) in keys.enumerated() { last[key.identity] = index }
        let unique = keys.enumerated().filter { last[$0.element.identity] == $0.offset }.map(\.element)
        try transaction("store \(keys.count) keys") { session in
            for start in stride(from: 0, to: unique.count, by: 500) {
                let chunk = unique[start..<min(start + 500, unique.count)]
                let rows = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
                try session.execute(
                    Self.insertKey.replacingOccurrences(of: "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", with: "VALUES " + rows), chunk.flatMap(Self.keyValues))
            }
        }
    }

    public func key(_ identity: KeyIdentity) throws -> StoredKey? {
        try query(
            "look up key \(identity)", "SELECT * FROM keys WHERE zone = ? AND child = ? AND digest = ?",
            [.text(StoreQueries.text(identity.zone)), .text(StoreQueries.text(identity.child)), .bytes(identity.digest)]
        ).first.map(PostgresRows.storedKey)
    }

    public func keys(zone: DomainName, child: DomainName, keyTag: UInt16, algorithm: UInt8) throws -> [StoredKey] {
        try query(
            "look up key \(keyTag) of \(child)",
            """
            SELECT * FROM keys WHERE zone = ? AND child = ? AND key_tag = ? AND algorithm = ?
            ORDER BY CASE state WHEN 'trusted' THEN 0 WHEN 'known' THEN 1 ELSE 2 END, added_at DESC, id DESC
            """,
            [.text(StoreQueries.text(zone)), .text(StoreQueries.text(child)), .int(Int64(keyTag)), .int(Int64(algorithm))]
        ).map(PostgresRows.storedKey)
    }

    @discardableResult
    public func setKeyState(_ identity: KeyIdentity, state: KeyTrustState) throws -> KeyStateChange {
        let key: [StoreValue] = [.text(StoreQueries.text(identity.zone)), .text(StoreQueries.text(identity.child)), .bytes(identity.digest)]
        return try transaction("set key \(identity) to \(state.rawValue)") { session in
            let changed = try session.execute("UPDATE keys SET state = ? WHERE zone = ? AND child = ? AND digest = ?", [.text(state.rawValue)] + key)
            guard changed > 0 else { return KeyStateChange(found: false) }
            guard state == .revoked else { return KeyStateChange(found: true) }
            let cancelled = try session.execute(
                """
                UPDATE outbox SET state = 'cancelled', last_error = ?, claimed_by = NULL, lease_until = NULL
                WHERE state = 'pending' AND zone = ? AND child = ? AND signer_digest = ?
                """,
                [.text("cancelled: the signing key \(identity) was revoked")] + key)
            return KeyStateChange(found: true, cancelledChanges: cancelled)
        }
    }

    // MARK: Replay protection and budgets

    /// RFC 2931 §3.3 and the budget in one transaction, atomic across agents: the newest
    /// inception of the key is read under a row lock; the signature is admitted by inserting its
    /// digest under the table's unique key (a concurrent agent inserting the same one waits for
    /// this transaction and then finds it taken); the budget's row is locked while its token is
    /// taken. Only an admitted request changes anything.
    public func admit(_ admission: Admission, now: Int64) throws -> Admission.Verdict {
        let key = admission.key
        let replayKey: [StoreValue] = [.text(StoreQueries.text(key.zone)), .text(StoreQueries.text(key.child)), .bytes(key.digest)]
        return try transaction("admit a request signed by \(key)") { session in
            let last = try session.rows("SELECT last_inception FROM replay WHERE zone = ? AND child = ? AND digest = ? FOR UPDATE", replayKey)
                .first.map { try $0["last_inception"].decode(Int64.self) }
            if let last, Int64(admission.inception) < last { return .older(UInt32(truncatingIfNeeded: last)) }
            let signature = StoreValue.bytes(admission.signatureDigest)
            if try !session.rows("SELECT 1 FROM seen_signatures WHERE digest = ? AND expires_at >= ?", [signature, .int(now)]).isEmpty {
                return .replayed
            }
            var bucket: TokenBucket? = nil
            if let budget = admission.budget {
                let full = TokenBucket(capacity: budget.perHour, interval: 3600, now: now)
                try session.execute(
                    "INSERT INTO budgets (name, tokens, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                    [.text(budget.name), .double(full.tokens), .int(full.updatedAt)])
                let row = try session.rows("SELECT tokens, updated_at FROM budgets WHERE name = ? FOR UPDATE", [.text(budget.name)])[0]
                var taken = TokenBucket(
                    capacity: budget.perHour, interval: 3600, tokens: try row["tokens"].decode(Double.self), updatedAt: try row["updated_at"].decode(Int64.self))
                guard taken.take(now: now) else { return .rateLimited }
                bucket = taken
            }
            // The unique key decides between agents: nothing was written before this insert.
            let inserted = try session.execute(
                """
                INSERT INTO seen_signatures (digest, expires_at) VALUES (?, ?)
                ON CONFLICT (digest) DO UPDATE SET expires_at = excluded.expires_at WHERE seen_signatures.expires_at < ?
                """,
                [signature, .int(admission.expiresAt), .int(now)])
            guard inserted == 1 else { return .replayed }
            if let budget = admission.budget, let bucket {
                try session.execute(
                    "UPDATE budgets SET tokens = ?, updated_at = ? WHERE name = ?", [.double(bucket.tokens), .int(bucket.updatedAt), .text(budget.name)])
            }
            try session.execute(
                """
                INSERT INTO replay (zone, child, digest, last_inception) VALUES (?, ?, ?, ?)
                ON CONFLICT (zone, child, digest) DO UPDATE SET last_inception = GREATEST(replay.last_inception, excluded.last_inception)
                """,
                replayKey + [.int(Int64(admission.inception))])
            return .admitted
        }
    }

    // MARK: Audit

    @discardableResult
    public func appendAudit(_ entry: AuditEntry) throws -> Int64 {
        try transaction("append an audit entry") { session in
            try session.rows(
                """
                INSERT INTO audit (time, source, transport, zone, signer, key_tag, request, decision, reason, backend_result, count)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                [
                    .int(entry.time), .text(entry.source), .text(entry.transport), entry.zone.map(StoreValue.text) ?? .null,
                    entry.signer.map(StoreValue.text) ?? .null, entry.keyTag.map { .int(Int64($0)) } ?? .null, .text(entry.request),
                    .text(entry.decision), .text(entry.reason), entry.backendResult.map(StoreValue.text) ?? .null, .int(Int64(entry.count)),
                ])[0]["id"].decode(Int64.self)
        }
    }

    public func setAuditCount(id: Int64, count: Int) throws {
        try transaction("count audit entry \(id)") { try $0.execute("UPDATE audit SET count = ? WHERE id = ?", [.int(Int64(count)), .int(id)]) }
    }

    // MARK: Outbox

    @discardableResult
    public func enqueue(_ entry: OutboxEntry) throws -> Int64 {
        let claim = StoreQueries.claim(of: entry, claimant: claimant, lease: lease)
        return try transaction("queue a change for \(entry.child)") { session in
            try session.rows(
                """
                INSERT INTO outbox (zone, child, operations, state, attempts, created_at, next_attempt_at, last_error,
                    signer_algorithm, signer_key_tag, signer_digest, deadline, claimed_by, lease_until)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                [
                    .text(StoreQueries.text(entry.zone)), .text(StoreQueries.text(entry.child)), .text(StoredOperations.encode(entry.operations)),
                    .text(entry.state.rawValue), .int(Int64(entry.attempts)), .int(entry.createdAt), .int(entry.nextAttemptAt),
                    entry.lastError.map(StoreValue.text) ?? .null, entry.signer.map { .int(Int64($0.algorithm)) } ?? .null,
                    entry.signer.map { .int(Int64($0.keyTag)) } ?? .null, entry.signer.map { .bytes($0.digest) } ?? .null,
                    entry.deadline.map(StoreValue.int) ?? .null, claim.map { .text($0.claimant) } ?? .null, claim.map { .int($0.until) } ?? .null,
                ])[0]["id"].decode(Int64.self)
        }
    }

    public func outboxEntry(id: Int64) throws -> OutboxEntry? {
        try transaction("read outbox entry \(id)") { try $0.rows("SELECT * FROM outbox WHERE id = ?", [.int(id)]).first.map(PostgresRows.outboxEntry) }
    }

    public func duePending(now: Int64) throws -> [OutboxEntry] {
        try transaction("list due outbox entries") { session in
            try session.rows("SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id", [.int(now)]).map(PostgresRows.outboxEntry)
        }
    }

    public func pendingCount() throws -> Int {
        try transaction("count pending outbox entries") { session in
            Int(try session.rows("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'")[0]["n"].decode(Int64.self))
        }
    }

    /// Throws ``StoreError/Code/notFound`` when there is no entry `id`.
    public func markApplied(id: Int64) throws {
        try changeOutbox(id, "mark outbox entry \(id) applied", "state = 'applied'", [])
    }

    public func markAttemptFailed(id: Int64, error: String, nextAttemptAt: Int64) throws {
        try changeOutbox(
            id, "record a failed attempt of outbox entry \(id)", "attempts = attempts + 1, last_error = ?, next_attempt_at = ?",
            [.text(error), .int(nextAttemptAt)])
    }

    public func markFailed(id: Int64, error: String) throws {
        try changeOutbox(id, "give up outbox entry \(id)", "state = 'failed', attempts = attempts + 1, last_error = ?", [.text(error)])
    }

    /// Sets `assignments` on entry `id` and ends its claim.
    private func changeOutbox(_ id: Int64, _ what: String, _ assignments: String, _ values: [StoreValue]) throws {
        try transaction(what) { session in
            let changed = try session.execute(
                "UPDATE outbox SET \(assignments), claimed_by = NULL, lease_until = NULL WHERE id = ?", values + [.int(id)])
            guard changed == 1 else { throw StoreError(.notFound, "cannot \(what): there is no such entry") }
        }
    }

    // MARK: Bootstrap jobs

    public func putBootstrap(_ job: KeyBootstrap, now: Int64) throws {
        let query = try StoreQueries.putBootstrap(job, now: now)
        try transaction("store the bootstrap job of \(job.child) key \(job.keyTag)") { try $0.execute(query.sql, query.values) }
    }

    public func dueBootstraps(now: Int64) throws -> [KeyBootstrap] {
        try transaction("read due bootstrap jobs") { session in
            try session.rows("SELECT job FROM bootstrap WHERE final = 0 AND due_at <= ? ORDER BY due_at, id", [.int(now)]).map(PostgresRows.job)
        }
    }

    public func bootstrapCounts() throws -> [String: Int] {
        try transaction("count bootstrap jobs") { session in
            var counts: [String: Int] = [:]
            for row in try session.rows("SELECT state, COUNT(*) AS n FROM bootstrap GROUP BY state") {
                counts[try row["state"].decode(String.self)] = Int(try row["n"].decode(Int64.self))
            }
            return counts
        }
    }

    // MARK: Retention

    public func prune(before: Int64, replayBefore: Int64) throws -> PruneCounts {
        try transaction("prune old entries") { session in
            var counts = PruneCounts()
            counts.audit = try session.execute("DELETE FROM audit WHERE time < ?", [.int(before)])
            counts.bootstraps = try session.execute("DELETE FROM bootstrap WHERE final = 1 AND updated_at < ?", [.int(before)])
            counts.outbox = try session.execute("DELETE FROM outbox WHERE state != 'pending' AND created_at < ?", [.int(before)])
            counts.replay = try session.execute("DELETE FROM replay WHERE last_inception < ?", [.int(replayBefore)])
            try session.execute("DELETE FROM seen_signatures WHERE expires_at < ?", [.int(replayBefore)])
            return counts
        }
    }
}
