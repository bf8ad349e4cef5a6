import DNSWire
import DelegationCore
import Foundation
import GRDB

extension SQLiteStore {
    /// Schema v5: one row per (zone, child) the scanner looked at; the RFC 8078 observation as
    /// JSON (a ``BootstrapObservation`` value).
    static func registerScannerMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-scanner") { db in
            try db.execute(
                sql: """
                    CREATE TABLE scan_state (
                        zone TEXT NOT NULL,
                        child TEXT NOT NULL,
                        last_scan_at INTEGER NOT NULL,
                        last_result TEXT NOT NULL,
                        bootstrap TEXT,
                        PRIMARY KEY (zone, child)
                    );
                    """)
        }
    }

    public func scanState(zone: DomainName, child: DomainName) throws -> ScanState? {
        try read("read the scan state of \(child)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM scan_state WHERE zone = ? AND child = ?", arguments: [Self.text(zone), Self.text(child)]).map(
                Self.scanState)
        }
    }

    public func putScanState(_ state: ScanState) throws {
        let json = try ScanStateJSON.text(of: state)
        try write("store the scan state of \(state.child)") { db in
            try db.execute(
                sql: """
                    INSERT INTO scan_state (zone, child, last_scan_at, last_result, bootstrap) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (zone, child) DO UPDATE SET last_scan_at = excluded.last_scan_at, last_result = excluded.last_result,
                        bootstrap = excluded.bootstrap
                    """,
                arguments: [Self.text(state.zone), Self.text(state.child), state.lastScanAt, state.lastResult, json])
        }
    }

    public func eachScanState(zone: DomainName?, _ body: (ScanState) throws -> Void) throws {
        try each(StoreQueries.scanStates(zone: zone), "read scan states") { try body(try Self.scanState($0)) }
    }

    private static func scanState(_ row: Row) throws -> ScanState {
        let zoneText: String = row["zone"], childText: String = row["child"]
        guard let zone = try? DomainName(zoneText), let child = try? DomainName(childText) else {
            throw StoreError(.corrupt, "cannot read scan_state row \(zoneText) \(childText)")
        }
        let bootstrap = try (row["bootstrap"] as String?).map { try ScanStateJSON.observation($0, of: child) }
        return ScanState(zone: zone, child: child, lastScanAt: row["last_scan_at"], lastResult: row["last_result"], bootstrap: bootstrap)
    }
}

/// The RFC 8078 §3.3 observation of a ``ScanState`` as both stores keep it: JSON text.
enum ScanStateJSON {
    static func text(of state: ScanState) throws -> String? {
        guard let bootstrap = state.bootstrap else { return nil }
        do {
            return String(decoding: try JSONEncoder().encode(bootstrap), as: UTF8.self)
        } catch {
            throw StoreError(.write, "cannot encode the scan state of \(state.child): \(error)")
        }
    }

    static func observation(_ json: String, of child: DomainName) throws -> BootstrapObservation {
        do {
            return try JSONDecoder().decode(BootstrapObservation.self, from: Data(json.utf8))
        } catch {
            throw StoreError(.corrupt, "cannot read the bootstrap observation of \(child): \(error)")
        }
    }
}
