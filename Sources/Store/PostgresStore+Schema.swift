/// The schema of ``PostgresStore``: the tables and columns of ``SQLiteStore``'s schema, in
/// PostgreSQL's types (BIGINT for integers, BYTEA for octets). The applied migrations are
/// listed in `schema_migrations` under the same names as SQLite's, so both stores report the same
/// schema version. PostgreSQL support starts at v4: its first step creates the v4 schema at once
/// (there is no older PostgreSQL data to convert) and records v1 to v4; v5 to v8 follow one by
/// one, as in SQLite.
extension PostgresStore {
    static let migrations: [(names: [String], statements: [String])] = [
        (
            ["v1", "v2-bootstrap", "v3-key-identity", "v4-bounded-state"],
            [
                """
                CREATE TABLE keys (
                    id BIGSERIAL PRIMARY KEY,
                    zone TEXT NOT NULL,
                    child TEXT NOT NULL,
                    key_tag BIGINT NOT NULL,
                    algorithm BIGINT NOT NULL,
                    rdata BYTEA NOT NULL,
                    state TEXT NOT NULL,
                    added_at BIGINT NOT NULL,
                    origin TEXT NOT NULL,
                    digest BYTEA NOT NULL,
                    UNIQUE (zone, child, key_tag, algorithm, rdata)
                )
                """,
                "CREATE INDEX keys_child ON keys (child, key_tag)",
                "CREATE UNIQUE INDEX keys_identity ON keys (zone, child, digest)",
                """
                CREATE TABLE replay (
                    zone TEXT NOT NULL,
                    child TEXT NOT NULL,
                    digest BYTEA NOT NULL,
                    last_inception BIGINT NOT NULL,
                    PRIMARY KEY (zone, child, digest)
                )
                """,
                "CREATE TABLE seen_signatures (digest BYTEA PRIMARY KEY, expires_at BIGINT NOT NULL)",
                "CREATE INDEX seen_signatures_expiry ON seen_signatures (expires_at)",
                "CREATE TABLE budgets (name TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, updated_at BIGINT NOT NULL)",
                """
                CREATE TABLE audit (
                    id BIGSERIAL PRIMARY KEY,
                    time BIGINT NOT NULL,
                    source TEXT NOT NULL,
                    transport TEXT NOT NULL,
                    zone TEXT,
                    signer TEXT,
                    key_tag BIGINT,
                    request TEXT NOT NULL,
                    decision TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    backend_result TEXT,
                    count BIGINT NOT NULL DEFAULT 1
                )
                """,
                "CREATE INDEX audit_signer ON audit (lower(signer), id)",
                "CREATE INDEX audit_time ON audit (time)",
                """
                CREATE TABLE outbox (
                    id BIGSERIAL PRIMARY KEY,
                    zone TEXT NOT NULL,
                    child TEXT NOT NULL,
                    operations TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempts BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    next_attempt_at BIGINT NOT NULL,
                    last_error TEXT,
                    signer_algorithm BIGINT,
                    signer_key_tag BIGINT,
                    signer_digest BYTEA,
                    deadline BIGINT
                )
                """,
                "CREATE INDEX outbox_due ON outbox (state, next_attempt_at)",
                "CREATE INDEX outbox_signer ON outbox (signer_digest, state)",
                "CREATE INDEX outbox_created ON outbox (state, created_at)",
                """
                CREATE TABLE bootstrap (
                    id BIGSERIAL PRIMARY KEY,
                    zone TEXT NOT NULL,
                    child TEXT NOT NULL,
                    key BYTEA NOT NULL,
                    key_tag BIGINT NOT NULL,
                    final BIGINT NOT NULL,
                    job TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    state TEXT NOT NULL DEFAULT 'verifying',
                    due_at BIGINT NOT NULL DEFAULT 0,
                    UNIQUE (zone, child, key)
                )
                """,
                "CREATE INDEX bootstrap_child ON bootstrap (child, final)",
                "CREATE INDEX bootstrap_due ON bootstrap (final, due_at)",
                "CREATE INDEX bootstrap_updated ON bootstrap (final, updated_at)",
            ]
        ),
        (
            ["v5-event-episodes"],
            [
                """
                CREATE TABLE event_episodes (
                    kind TEXT NOT NULL,
                    zone TEXT NOT NULL,
                    child TEXT NOT NULL,
                    since BIGINT NOT NULL,
                    reported_at BIGINT,
                    detail TEXT NOT NULL,
                    PRIMARY KEY (kind, zone, child)
                )
                """
            ]
        ),
        (
            // The secret's value is written by ``migrate()`` (random, one per database).
            ["v6-status-secret"], ["CREATE TABLE secrets (name TEXT PRIMARY KEY, value BYTEA NOT NULL)"]
        ),
        (
            ["v7-scanner"],
            [
                """
                CREATE TABLE scan_state (
                    zone TEXT NOT NULL,
                    child TEXT NOT NULL,
                    last_scan_at BIGINT NOT NULL,
                    last_result TEXT NOT NULL,
                    bootstrap TEXT,
                    PRIMARY KEY (zone, child)
                )
                """
            ]
        ),
        (
            ["v8-claims"],
            [
                "ALTER TABLE outbox ADD COLUMN claimed_by TEXT",
                "ALTER TABLE outbox ADD COLUMN lease_until BIGINT",
                "ALTER TABLE bootstrap ADD COLUMN claimed_by TEXT",
                "ALTER TABLE bootstrap ADD COLUMN lease_until BIGINT",
                "CREATE INDEX keys_added ON keys (added_at)",
            ]
        ),
    ]

    /// A constant for the advisory lock under which one agent at a time brings the schema up to
    /// date (several starting at once would otherwise all create the tables).
    static let migrationLock: Int64 = 0x6465_6C65_6773_796E  // "delegsyn"

    /// Applies the missing migrations, each step in the same transaction as its record.
    func migrate() throws {
        do {
            try transaction("bring the schema up to date") { session in
                try session.execute("SELECT pg_advisory_xact_lock(?)", [.int(Self.migrationLock)])
                try session.execute("CREATE TABLE IF NOT EXISTS schema_migrations (identifier TEXT PRIMARY KEY)")
                let applied = Set(try session.rows("SELECT identifier FROM schema_migrations").map { try $0["identifier"].decode(String.self) })
                for step in Self.migrations where !step.names.allSatisfy(applied.contains) {
                    for statement in step.statements { try session.execute(statement) }
                    if step.names.contains("v6-status-secret") {
                        // A random secret per database: every agent on it proves to `delegsync
                        // status` that it serves this store (StatusProbe in the Agent module).
                        var generator = SystemRandomNumberGenerator()
                        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
                        try session.execute("INSERT INTO secrets (name, value) VALUES ('status', ?)", [.bytes(secret)])
                    }
                    for name in step.names { try session.execute("INSERT INTO schema_migrations (identifier) VALUES (?)", [.text(name)]) }
                }
            }
        } catch let error as StoreError where error.code == .write {
            throw StoreError(.migrate, error.message)
        }
    }

    public func appliedMigrations() throws -> [String] {
        let order = Self.migrations.flatMap(\.names)
        let applied = try transaction("read the schema version") { session in
            Set(try session.rows("SELECT identifier FROM schema_migrations").map { try $0["identifier"].decode(String.self) })
        }
        return order.filter(applied.contains)
    }
}
