import DNSWire
import GRDB

extension SQLiteStore: ChildSchemeStateStore {
    /// Schema: one row per child of the child agent, the last scheme used and the parent's answer.
    static func registerChildSchemeMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v9-child-scheme") { db in
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
    }

    public func childSchemeState(child: DomainName) throws -> ChildSchemeState? {
        try read("read the last scheme of \(child)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM child_scheme WHERE child = ?", arguments: [Self.text(child)]) else { return nil }
            return ChildSchemeState(
                child: child, scheme: row["scheme"], sentAt: row["sent_at"], update: row["update_result"], notify: row["notify_result"],
                warnings: row["warnings"], inStepAt: row["in_step_at"])
        }
    }

    public func putChildSchemeState(_ state: ChildSchemeState) throws {
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
