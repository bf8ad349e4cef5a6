import DNSWire
import DelegationCore
import Foundation
import GRDB
import NIOConcurrencyHelpers

/// The embedded ``DelegationStore``: one SQLite file in WAL mode, through GRDB.
///
/// Names are stored as their lower-cased presentation form (`child.parent.`), so every lookup
/// ignores ASCII case as RFC 4343 asks; they read back lower-cased. Times are Unix seconds as
/// the caller gives them; the store never reads the clock.
///
/// The methods are synchronous and block the calling thread for one short transaction each.
/// Any number of threads may share one instance: reads run concurrently, writes one at a time.
///
/// ## Limitations
/// - ``admit(_:now:)`` compares inceptions as plain numbers, not under RFC 1982 serial
///   arithmetic (32-bit times wrap in 2106).
/// - Replay state kept by key tag before schema v3 is dropped by the migration: right after the
///   upgrade a signature still inside its window (minutes) could be accepted once more.
/// - ``audit(child:limit:)`` matches `child` against the entry's signer, case-insensitively and
///   as presentation text; entries without a signer are only listed when `child` is `nil`.
/// - Several processes may open the same file (SQLite locks it) and claims keep them from
///   working on the same outbox entry or job, but the lock per child
///   (``tryLockChild(zone:child:)``) holds within one process only: run one agent per file, and
///   ``PostgresStore`` for several.
public final class SQLiteStore: DelegationStore {
    let db: any DatabaseWriter
    /// The file, or `:memory:`; for error messages.
    public let path: String
    /// This instance's name in claims.
    public let claimant = Claimant.make()
    /// Seconds a claim lasts (``claimDuePending(now:limit:)``).
    public let lease: Int64
    /// The children locked through this instance (``tryLockChild(zone:child:)``).
    let lockedChildren = NIOLockedValueBox<Set<String>>([])

    /// Opens the store at `path`, creating the file and bringing its schema up to date; claims
    /// last `lease` seconds.
    public convenience init(path: String, lease: Int64 = StoreLocation.defaultLease) throws {
        var configuration = Configuration()
        configuration.label = "delegsync.store"
        // Wait for another process's write rather than failing at once.
        configuration.busyMode = .timeout(5)
        // Opening a new file and bringing its schema up to date happen under an exclusive lock
        // of the store's directory: two processes starting at once (the first `serve` while
        // monitoring runs `delegsync status`) would otherwise both create the tables.
        let directory = (path as NSString).deletingLastPathComponent
        let lock = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lock >= 0 else {
            throw StoreError(.open, "cannot open store \(path): its directory: \(String(cString: strerror(errno))) (does it exist?)")
        }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        defer { flock(lock, LOCK_UN) }
        let pool: DatabasePool
        do {
            // A pool puts the file in WAL mode.
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError(.open, "cannot open store \(path): \(error) (does the directory exist, and may this user write to it?)")
        }
        try self.init(db: pool, path: path, lease: lease)
    }

    private init(db: any DatabaseWriter, path: String, lease: Int64 = StoreLocation.defaultLease, migrate: Bool = true) throws {
        self.db = db
        self.path = path
        self.lease = lease
        guard migrate else { return }
        do {
            try Self.migrator.migrate(db)
        } catch {
            throw StoreError(.migrate, "cannot bring the schema of store \(path) up to date: \(error)")
        }
        try releaseClaimsOfTheGone()
    }

    /// Opens the store at `path` for reading only, creating nothing — no file, no schema change
    /// — for commands that only look (`status`, `audit`); nil when there is no file at `path`.
    /// Throws when the schema is older than this delegsync's (the agent brings it up to date
    /// when it starts). Writes through the instance fail.
    public static func existing(readingAt path: String) throws -> SQLiteStore? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var configuration = Configuration()
        configuration.label = "delegsync.store.read"
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        // While a process has the store open its -wal file exists, and a reader shares its -shm.
        // Without one (no agent running), SQLite would create both files for a read-only reader
        // and leave them behind; opened immutable, it reads the database file alone.
        let location = FileManager.default.fileExists(atPath: path + "-wal") ? path : "file:\(uriPath(path))?immutable=1"
        let store: SQLiteStore
        do {
            store = try SQLiteStore(db: DatabaseQueue(path: location, configuration: configuration), path: path, migrate: false)
        } catch {
            throw StoreError(.open, "cannot open store \(path) for reading: \(error)")
        }
        let current = try store.read("read the schema version") { db in try migrator.hasCompletedMigrations(db) }
        guard current else {
            throw StoreError(.migrate, "store \(path) has an older schema than this delegsync: start the agent (delegsync serve) once to bring it up to date")
        }
        return store
    }

    /// A path as the path of a `file:` URI (RFC 8089): `%`, `?` and `#` percent-encoded.
    static func uriPath(_ path: String) -> String {
        path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "?", with: "%3F").replacingOccurrences(of: "#", with: "%23")
    }

    /// A store that lives in memory and is gone when the instance is; for tests.
    public static func inMemory() throws -> SQLiteStore {
        do {
            return try SQLiteStore(db: DatabaseQueue(), path: ":memory:")
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.open, "cannot open an in-memory store: \(error)")
        }
    }

    // MARK: Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE keys (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        zone TEXT NOT NULL,
                        child TEXT NOT NULL,
                        key_tag INTEGER NOT NULL,
                        algorithm INTEGER NOT NULL,
                        rdata BLOB NOT NULL,
                        state TEXT NOT NULL,
                        added_at INTEGER NOT NULL,
                        origin TEXT NOT NULL,
                        UNIQUE (zone, child, key_tag, algorithm, rdata)
                    );
                    CREATE INDEX keys_child ON keys (child, key_tag);

                    CREATE TABLE replay (
                        zone TEXT NOT NULL,
                        child TEXT NOT NULL,
                        key_tag INTEGER NOT NULL,
                        last_inception INTEGER NOT NULL,
                        PRIMARY KEY (zone, child, key_tag)
                    );

                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        time INTEGER NOT NULL,
                        source TEXT NOT NULL,
                        transport TEXT NOT NULL,
                        zone TEXT,
                        signer TEXT,
                        key_tag INTEGER,
                        request TEXT NOT NULL,
                        decision TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        backend_result TEXT
                    );
                    CREATE INDEX audit_signer ON audit (signer COLLATE NOCASE, id);

                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        zone TEXT NOT NULL,
                        child TEXT NOT NULL,
                        operations TEXT NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        next_attempt_at INTEGER NOT NULL,
                        last_error TEXT
                    );
                    CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
                    """)
        }
        migrator.registerMigration("v2-bootstrap") { db in
            // One row per (zone, child, key): the job is a value (KeyBootstrap) stored as JSON,
            // with its state and child in columns for listing.
            try db.execute(
                sql: """
                    CREATE TABLE bootstrap (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        zone TEXT NOT NULL,
                        child TEXT NOT NULL,
                        key BLOB NOT NULL,
                        key_tag INTEGER NOT NULL,
                        final INTEGER NOT NULL,
                        job TEXT NOT NULL,
                        updated_at INTEGER NOT NULL,
                        UNIQUE (zone, child, key)
                    );
                    CREATE INDEX bootstrap_child ON bootstrap (child, final);
                    """)
        }
        migrator.registerMigration("v3-key-identity") { db in
            // Keys are named by their RDATA digest (KeyIdentity); replay state, seen signatures
            // and budgets are durable; the outbox remembers who signed and until when to try.
            try db.execute(sql: "ALTER TABLE keys ADD COLUMN digest BLOB")
            for row in try Row.fetchAll(db, sql: "SELECT id, rdata FROM keys") {
                let rdata: Data = row["rdata"]
                try db.execute(
                    sql: "UPDATE keys SET digest = ? WHERE id = ?", arguments: [Data(KEYData.digest(rdata: [UInt8](rdata))), row["id"] as Int64])
            }
            try db.execute(
                sql: """
                    CREATE UNIQUE INDEX keys_identity ON keys (zone, child, digest);
                    DROP TABLE replay;
                    CREATE TABLE replay (
                        zone TEXT NOT NULL,
                        child TEXT NOT NULL,
                        digest BLOB NOT NULL,
                        last_inception INTEGER NOT NULL,
                        PRIMARY KEY (zone, child, digest)
                    );
                    CREATE TABLE seen_signatures (
                        digest BLOB PRIMARY KEY,
                        expires_at INTEGER NOT NULL
                    );
                    CREATE INDEX seen_signatures_expiry ON seen_signatures (expires_at);
                    CREATE TABLE budgets (
                        name TEXT PRIMARY KEY,
                        tokens REAL NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    ALTER TABLE outbox ADD COLUMN signer_algorithm INTEGER;
                    ALTER TABLE outbox ADD COLUMN signer_key_tag INTEGER;
                    ALTER TABLE outbox ADD COLUMN signer_digest BLOB;
                    ALTER TABLE outbox ADD COLUMN deadline INTEGER;
                    CREATE INDEX outbox_signer ON outbox (signer_digest, state);
                    """)
        }
        migrator.registerMigration("v4-bounded-state") { db in
            // Jobs found by due time and counted by state without decoding them; audit entries
            // that stand for several aggregated requests.
            try db.execute(
                sql: """
                    ALTER TABLE bootstrap ADD COLUMN state TEXT NOT NULL DEFAULT 'verifying';
                    ALTER TABLE bootstrap ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX bootstrap_due ON bootstrap (final, due_at);
                    CREATE INDEX bootstrap_updated ON bootstrap (final, updated_at);
                    ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
                    CREATE INDEX audit_time ON audit (time);
                    CREATE INDEX outbox_created ON outbox (state, created_at);
                    """)
            for row in try Row.fetchAll(db, sql: "SELECT id, job FROM bootstrap") {
                let text: String = row["job"]
                guard let job = try? JSONDecoder().decode(KeyBootstrap.self, from: Data(text.utf8)) else { continue }
                try db.execute(
                    sql: "UPDATE bootstrap SET state = ?, due_at = ? WHERE id = ?",
                    arguments: [Self.stateName(job.state), Self.dueAt(job), row["id"] as Int64])
            }
        }
        migrator.registerMigration("v5-event-episodes") { db in
            // The open episodes of the operator events (EventMonitor): one row per kind, zone and
            // child ('' for a zone's backend), so a restart neither repeats nor forgets a report.
            try db.execute(
                sql: """
                    CREATE TABLE event_episodes (
                        kind TEXT NOT NULL,
                        zone TEXT NOT NULL,
                        child TEXT NOT NULL,
                        since INTEGER NOT NULL,
                        reported_at INTEGER,
                        detail TEXT NOT NULL,
                        PRIMARY KEY (kind, zone, child)
                    );
                    """)
        }
        migrator.registerMigration("v6-status-secret") { db in
            // A random secret per store: the agent proves with it that it serves this store when
            // `delegsync status` asks (StatusProbe in the Agent module).
            try db.execute(sql: "CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
            var generator = SystemRandomNumberGenerator()
            let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try db.execute(sql: "INSERT INTO secrets (name, value) VALUES ('status', ?)", arguments: [Data(secret)])
        }
        registerScannerMigration(&migrator)
        migrator.registerMigration("v8-claims") { db in
            // Several agents: who works on an outbox entry or a job, and until when (a lease).
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
                    ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
                    ALTER TABLE bootstrap ADD COLUMN claimed_by TEXT;
                    ALTER TABLE bootstrap ADD COLUMN lease_until INTEGER;
                    CREATE INDEX keys_added ON keys (added_at);
                    """)
        }
        return migrator
    }

    /// The job's state as the metrics and `bootstrapCounts` name it.
    public static func stateName(_ state: KeyBootstrap.State) -> String {
        switch state {
        case .verifying: "verifying"
        case .awaitingConfirmation: "awaiting-confirmation"
        case .trusted: "trusted"
        case .failed: "failed"
        case .rejected: "rejected"
        case .superseded: "superseded"
        }
    }

    /// When the worker must next look at the job: its next round; for one that waits for an
    /// approval command, at once; otherwise when its deadline passes.
    static func dueAt(_ job: KeyBootstrap) -> Int64 {
        let deadline = job.createdAt + job.policy.deadline + 1
        switch job.state {
        case .verifying(_, let nextAt): return min(nextAt, deadline)
        case .awaitingConfirmation where job.policy.confirmation == .command && job.method == .unsigned: return job.createdAt
        case .awaitingConfirmation: return deadline
        default: return Int64.max
        }
    }

    // MARK: Trust store

    public func putKey(_ key: StoredKey) throws {
        try write("store key \(key.keyTag) of \(key.child)") { db in try Self.insert(key, into: db) }
    }

    static func insert(_ key: StoredKey, into db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO keys (zone, child, key_tag, algorithm, rdata, digest, state, added_at, origin)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (zone, child, digest)
                DO UPDATE SET state = excluded.state, origin = excluded.origin
                """,
            arguments: [
                Self.text(key.zone), Self.text(key.child), key.keyTag, key.algorithm, Data(key.rdata),
                Data(KEYData.digest(rdata: key.rdata)), key.state.rawValue, key.addedAt, key.origin,
            ])
    }

    public func key(_ identity: KeyIdentity) throws -> StoredKey? {
        try read("look up key \(identity)") { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM keys WHERE zone = ? AND child = ? AND digest = ?"),
                arguments: [Self.text(identity.zone), Self.text(identity.child), Data(identity.digest)]
            ).map(Self.storedKey)
        }
    }

    /// Every key sharing the tag and algorithm (a tag collision, RFC 4034 Appendix B, is normal):
    /// trusted before known before revoked, then the newest.
    public func keys(zone: DomainName, child: DomainName, keyTag: UInt16, algorithm: UInt8) throws -> [StoredKey] {
        try read("look up key \(keyTag) of \(child)") { db in
            // Cached statements: the request path runs these for every UPDATE.
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM keys WHERE zone = ? AND child = ? AND key_tag = ? AND algorithm = ?
                        ORDER BY CASE state WHEN 'trusted' THEN 0 WHEN 'known' THEN 1 ELSE 2 END,
                            added_at DESC, id DESC
                        """),
                arguments: [Self.text(zone), Self.text(child), keyTag, algorithm]
            ).map(Self.storedKey)
        }
    }

    /// Sets the state of exactly this key; revoking it cancels the pending outbox entries it
    /// signed, in the same transaction.
    @discardableResult
    public func setKeyState(_ identity: KeyIdentity, state: KeyTrustState) throws -> KeyStateChange {
        try write("set key \(identity) to \(state.rawValue)") { db in
            try db.execute(
                sql: "UPDATE keys SET state = ? WHERE zone = ? AND child = ? AND digest = ?",
                arguments: [state.rawValue, Self.text(identity.zone), Self.text(identity.child), Data(identity.digest)])
            guard db.changesCount > 0 else { return KeyStateChange(found: false) }
            guard state == .revoked else { return KeyStateChange(found: true) }
            try db.execute(
                sql: """
                    UPDATE outbox SET state = ?, last_error = ?
                    WHERE state = ? AND zone = ? AND child = ? AND signer_digest = ?
                    """,
                arguments: [
                    OutboxEntry.State.cancelled.rawValue, "cancelled: the signing key \(identity) was revoked", OutboxEntry.State.pending.rawValue,
                    Self.text(identity.zone), Self.text(identity.child), Data(identity.digest),
                ])
            return KeyStateChange(found: true, cancelledChanges: db.changesCount)
        }
    }

    // MARK: Replay protection and budgets

    /// RFC 2931 §3.3 and the per-child budget in one write transaction (``admit(_:now:in:)``).
    public func admit(_ admission: Admission, now: Int64) throws -> Admission.Verdict {
        try write("admit a request signed by \(admission.key)") { db in try Self.admit(admission, now: now, in: db) }
    }

    // MARK: Audit

    /// Appends the entry (its `id` is ignored) and returns the id it was given.
    @discardableResult
    public func appendAudit(_ entry: AuditEntry) throws -> Int64 {
        try write("append an audit entry") { db in try Self.append(entry, in: db) }
    }

    public func setAuditCount(id: Int64, count: Int) throws {
        try write("count audit entry \(id)") { db in
            try db.execute(sql: "UPDATE audit SET count = ? WHERE id = ?", arguments: [count, id])
        }
    }

    // MARK: Outbox

    /// Adds the entry (its `id` is ignored) and returns the id it was given.
    @discardableResult
    public func enqueue(_ entry: OutboxEntry) throws -> Int64 {
        try write("queue a change for \(entry.child)") { db in
            try db.execute(
                sql: """
                    INSERT INTO outbox (zone, child, operations, state, attempts, created_at, next_attempt_at, last_error,
                        signer_algorithm, signer_key_tag, signer_digest, deadline, claimed_by, lease_until)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Self.text(entry.zone), Self.text(entry.child), StoredOperations.encode(entry.operations),
                    entry.state.rawValue, entry.attempts, entry.createdAt, entry.nextAttemptAt, entry.lastError,
                    entry.signer?.algorithm, entry.signer?.keyTag, entry.signer.map { Data($0.digest) }, entry.deadline,
                    claim(entry)?.claimant, claim(entry)?.until,
                ])
            return db.lastInsertedRowID
        }
    }

    public func outboxEntry(id: Int64) throws -> OutboxEntry? {
        try read("read outbox entry \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM outbox WHERE id = ?", arguments: [id]).map(Self.outboxEntry)
        }
    }

    public func duePending(now: Int64) throws -> [OutboxEntry] {
        try read("list due outbox entries") { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM outbox WHERE state = ? AND next_attempt_at <= ? ORDER BY id",
                arguments: [OutboxEntry.State.pending.rawValue, now]
            ).map(Self.outboxEntry)
        }
    }

    public func pendingCount() throws -> Int {
        try read("count pending outbox entries") { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = ?", arguments: [OutboxEntry.State.pending.rawValue]) ?? 0
        }
    }

    /// Throws ``StoreError/Code/notFound`` when there is no entry `id`.
    public func markApplied(id: Int64) throws {
        try write("mark outbox entry \(id) applied") { db in
            try db.execute(
                sql: "UPDATE outbox SET state = ?, claimed_by = NULL, lease_until = NULL WHERE id = ?", arguments: [OutboxEntry.State.applied.rawValue, id])
            guard db.changesCount == 1 else { throw StoreError(.notFound, "cannot mark outbox entry \(id) applied: there is no such entry") }
        }
    }

    /// Counts the attempt and schedules the next; the entry stays pending. Throws
    /// ``StoreError/Code/notFound`` when there is no entry `id`.
    public func markAttemptFailed(id: Int64, error: String, nextAttemptAt: Int64) throws {
        try write("record a failed attempt of outbox entry \(id)") { db in
            try db.execute(
                sql: "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_by = NULL, lease_until = NULL WHERE id = ?",
                arguments: [error, nextAttemptAt, id])
            guard db.changesCount == 1 else {
                throw StoreError(.notFound, "cannot record a failed attempt of outbox entry \(id): there is no such entry")
            }
        }
    }

    public func markFailed(id: Int64, error: String) throws {
        try write("give up outbox entry \(id)") { db in
            try db.execute(
                sql: "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, claimed_by = NULL, lease_until = NULL WHERE id = ?",
                arguments: [OutboxEntry.State.failed.rawValue, error, id])
            guard db.changesCount == 1 else {
                throw StoreError(.notFound, "cannot give up outbox entry \(id): there is no such entry")
            }
        }
    }

    // MARK: Bootstrap jobs

    public func putBootstrap(_ job: KeyBootstrap, now: Int64) throws {
        let query = try StoreQueries.putBootstrap(job, now: now)
        try write("store the bootstrap job of \(job.child) key \(job.keyTag)") { db in
            try db.execute(sql: query.sql, arguments: Self.arguments(query))
        }
    }

    public func dueBootstraps(now: Int64) throws -> [KeyBootstrap] {
        try read("read due bootstrap jobs") { db in
            try String.fetchAll(
                db.cachedStatement(sql: "SELECT job FROM bootstrap WHERE final = 0 AND due_at <= ? ORDER BY due_at, id"), arguments: [now]
            ).map(Self.job)
        }
    }

    public func bootstrapCounts() throws -> [String: Int] {
        try read("count bootstrap jobs") { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM bootstrap GROUP BY state") {
                counts[row["state"]] = row["n"]
            }
            return counts
        }
    }

    static func job(_ text: String) throws -> KeyBootstrap {
        do {
            return try JSONDecoder().decode(KeyBootstrap.self, from: Data(text.utf8))
        } catch {
            throw StoreError(.corrupt, "cannot read a bootstrap job: \(error)")
        }
    }

    // MARK: Retention

    public func prune(before: Int64, replayBefore: Int64) throws -> PruneCounts {
        try write("prune old entries") { db in
            var counts = PruneCounts()
            try db.execute(sql: "DELETE FROM audit WHERE time < ?", arguments: [before])
            counts.audit = db.changesCount
            try db.execute(sql: "DELETE FROM bootstrap WHERE final = 1 AND updated_at < ?", arguments: [before])
            counts.bootstraps = db.changesCount
            try db.execute(sql: "DELETE FROM outbox WHERE state != ? AND created_at < ?", arguments: [OutboxEntry.State.pending.rawValue, before])
            counts.outbox = db.changesCount
            try db.execute(sql: "DELETE FROM replay WHERE last_inception < ?", arguments: [replayBefore])
            counts.replay = db.changesCount
            try db.execute(sql: "DELETE FROM seen_signatures WHERE expires_at < ?", arguments: [replayBefore])
            return counts
        }
    }

    // MARK: Operator events

    public func eventEpisodes() throws -> [EventMonitor.Episode] {
        try read("read the open event episodes") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM event_episodes ORDER BY kind, zone, child").map(Self.episode)
        }
    }

    public func putEventEpisode(_ episode: EventMonitor.Episode) throws {
        try write("store the \(episode.kind.rawValue) episode of \(episode.subject)") { db in
            try db.execute(
                sql: """
                    INSERT INTO event_episodes (kind, zone, child, since, reported_at, detail) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (kind, zone, child) DO UPDATE SET since = excluded.since, reported_at = excluded.reported_at, detail = excluded.detail
                    """,
                arguments: [
                    episode.kind.rawValue, Self.text(episode.zone), episode.child.map(Self.text) ?? "", episode.since, episode.reportedAt, episode.detail,
                ])
        }
    }

    public func removeEventEpisode(_ kind: EventMonitor.Episode.Kind, zone: DomainName, child: DomainName?) throws -> EventMonitor.Episode? {
        try write("remove the \(kind.rawValue) episode of \(child ?? zone)") { db in
            let arguments: StatementArguments = [kind.rawValue, Self.text(zone), child.map(Self.text) ?? ""]
            let filter = "WHERE kind = ? AND zone = ? AND child = ?"
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM event_episodes \(filter)", arguments: arguments) else { return nil }
            try db.execute(sql: "DELETE FROM event_episodes \(filter)", arguments: arguments)
            return try Self.episode(row)
        }
    }

    public func outboxBacklog() throws -> [EventMonitor.Backlog] {
        try read("summarize the outbox") { db in
            // SQLite takes the bare columns of a MIN() aggregate from the row with the minimum:
            // the signer and last error are the oldest entry's.
            try Row.fetchAll(
                db,
                sql: """
                    SELECT zone, child, MIN(created_at) AS oldest, COUNT(*) AS n, signer_algorithm, signer_key_tag, signer_digest, last_error
                    FROM outbox WHERE state = ? GROUP BY zone, child ORDER BY zone, child
                    """,
                arguments: [OutboxEntry.State.pending.rawValue]
            ).map { row in
                let zone = try Self.name(row, "zone", table: "outbox"), child = try Self.name(row, "child", table: "outbox")
                return EventMonitor.Backlog(
                    zone: zone, child: child, oldest: row["oldest"], count: row["n"], signer: Self.signer(row, zone: zone, child: child),
                    lastError: row["last_error"])
            }
        }
    }

    private static func episode(_ row: Row) throws -> EventMonitor.Episode {
        let kindText: String = row["kind"]
        guard let kind = EventMonitor.Episode.Kind(rawValue: kindText) else {
            throw StoreError(.corrupt, "cannot read event episode kind \"\(kindText)\"")
        }
        let child: String = row["child"]
        return EventMonitor.Episode(
            kind: kind, zone: try name(row, "zone", table: "event_episodes"), child: child.isEmpty ? nil : try name(row, "child", table: "event_episodes"),
            since: row["since"], reportedAt: row["reported_at"], detail: row["detail"])
    }

    // MARK: Rows

    /// How a name is stored: lower-cased presentation form.
    static func text(_ name: DomainName) -> String { name.lowercased.description }

    private static func name(_ row: Row, _ column: String, table: String) throws -> DomainName {
        let text: String = row[column]
        do {
            return try DomainName(text)
        } catch {
            throw StoreError(.corrupt, "cannot read \(table).\(column) \"\(text)\": \(error)")
        }
    }

    static func storedKey(_ row: Row) throws -> StoredKey {
        let stateText: String = row["state"]
        guard let state = KeyTrustState(rawValue: stateText) else {
            throw StoreError(.corrupt, "cannot read key state \"\(stateText)\" of \(row["child"] as String)")
        }
        let rdata: Data = row["rdata"]
        return StoredKey(
            zone: try name(row, "zone", table: "keys"), child: try name(row, "child", table: "keys"),
            keyTag: row["key_tag"], algorithm: row["algorithm"], rdata: [UInt8](rdata), state: state,
            addedAt: row["added_at"], origin: row["origin"])
    }

    static func auditEntry(_ row: Row) -> AuditEntry {
        AuditEntry(
            id: row["id"], time: row["time"], source: row["source"], transport: row["transport"],
            zone: row["zone"], signer: row["signer"], keyTag: row["key_tag"], request: row["request"],
            decision: row["decision"], reason: row["reason"], backendResult: row["backend_result"], count: row["count"])
    }

    static func outboxEntry(_ row: Row) throws -> OutboxEntry {
        let stateText: String = row["state"]
        let id: Int64 = row["id"]
        guard let state = OutboxEntry.State(rawValue: stateText) else {
            throw StoreError(.corrupt, "cannot read state \"\(stateText)\" of outbox entry \(id)")
        }
        let zone = try name(row, "zone", table: "outbox"), child = try name(row, "child", table: "outbox")
        return OutboxEntry(
            id: id, zone: zone, child: child, operations: try StoredOperations.decode(row["operations"]), state: state, attempts: row["attempts"],
            createdAt: row["created_at"], nextAttemptAt: row["next_attempt_at"], lastError: row["last_error"],
            signer: signer(row, zone: zone, child: child), deadline: row["deadline"])
    }

    /// The key that signed an outbox entry, from its signer columns.
    private static func signer(_ row: Row, zone: DomainName, child: DomainName) -> KeyIdentity? {
        guard let digest = row["signer_digest"] as Data?, let algorithm = row["signer_algorithm"] as UInt8?, let keyTag = row["signer_key_tag"] as UInt16?
        else { return nil }
        return KeyIdentity(zone: zone, child: child, algorithm: algorithm, keyTag: keyTag, digest: [UInt8](digest))
    }

    // MARK: The agent's proof of identity

    public func statusSecret() throws -> [UInt8] {
        try read("read the status secret") { db in
            guard let value = try Data.fetchOne(db, sql: "SELECT value FROM secrets WHERE name = 'status'") else {
                throw StoreError(.corrupt, "store \(path) has no status secret")
            }
            return [UInt8](value)
        }
    }

    // MARK: Transactions

    /// Runs `body` in a read transaction; errors other than ``StoreError`` say "cannot `what`".
    func read<T>(_ what: @autoclosure () -> String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try db.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.read, "cannot \(what()) in store \(path): \(error)")
        }
    }

    /// Runs `body` in a write transaction, rolled back if it throws.
    func write<T>(_ what: @autoclosure () -> String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try db.write(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.write, "cannot \(what()) in store \(path): \(error)")
        }
    }
}
