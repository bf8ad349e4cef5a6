import DNSWire
import GRDB

extension SQLiteStore: ChildSchemeStateStore {
    /// The child agent's own table: one row per child, the last scheme used and the parent's
    /// answers. Kept out of ``migrator`` (the parent agent's schema, which the PostgreSQL store
    /// mirrors): created by the first ``putChildSchemeState(_:)``, recorded in the same
    /// `grdb_migrations` table under its own name.
    static var childAgentMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("child-v1-scheme") { db in
            try db.execute(
                sql: """
                    CREATE TABLE child_scheme (
                        child TEXT PRIMARY KEY,
                        scheme TEXT NOT NULL,
                        sent_at INTEGER NOT NULL,
                        update_result TEXT,
                        notify_result TEXT,
                        warnings TEXT NOT NULL,
                        in_step_at INTEGER
                    );
                    """)
        }
        return migrator
    }

    /// nil when no state was ever stored (or the table does not exist yet).
    public func childSchemeState(child: DomainName) throws -> ChildSchemeState? {
        try read("read the last scheme of \(child)") { db in
            guard try db.tableExists("child_scheme"),
                let row = try Row.fetchOne(db, sql: "SELECT * FROM child_scheme WHERE child = ?", arguments: [Self.text(child)])
            else { return nil }
            return ChildSchemeState(
                child: child, scheme: row["scheme"], sentAt: row["sent_at"], update: row["update_result"], notify: row["notify_result"],
                warnings: row["warnings"], inStepAt: row["in_step_at"])
        }
    }

    public func putChildSchemeState(_ state: ChildSchemeState) throws {
        do {
            try Self.childAgentMigrator.migrate(db)
        } catch {
            throw StoreError(.migrate, "cannot create the child agent's table in store \(path): \(error)")
        }
        try write("store the last scheme of \(state.child)") { db in
            try db.execute(
                sql: """
                    INSERT INTO child_scheme (child, scheme, sent_at, update_result, notify_result, warnings, in_step_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (child) DO UPDATE SET scheme = excluded.scheme, sent_at = excluded.sent_at, update_result = excluded.update_result,
                        notify_result = excluded.notify_result, warnings = excluded.warnings, in_step_at = excluded.in_step_at
                    """,
                arguments: [Self.text(state.child), state.scheme, state.sentAt, state.update, state.notify, state.warnings, state.inStepAt])
        }
    }
}
