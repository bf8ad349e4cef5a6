import DNSWire
import DelegationCore

/// ``ScanStateStore`` on PostgreSQL: one row per (zone, child), as in ``SQLiteStore``; every
/// agent on the database resumes the scanner's RFC 8078 §3.3 observations where any left them.
extension PostgresStore {
    public func scanState(zone: DomainName, child: DomainName) throws -> ScanState? {
        try transaction("read the scan state of \(child)") { session in
            try session.rows("SELECT * FROM scan_state WHERE zone = ? AND child = ?", [.text(StoreQueries.text(zone)), .text(StoreQueries.text(child))])
                .first.map(PostgresRows.scanState)
        }
    }

    public func putScanState(_ state: ScanState) throws {
        let json = try ScanStateJSON.text(of: state)
        try transaction("store the scan state of \(state.child)") { session in
            try session.execute(
                """
                INSERT INTO scan_state (zone, child, last_scan_at, last_result, bootstrap) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (zone, child) DO UPDATE SET last_scan_at = excluded.last_scan_at, last_result = excluded.last_result,
                    bootstrap = excluded.bootstrap
                """,
                [
                    .text(StoreQueries.text(state.zone)), .text(StoreQueries.text(state.child)), .int(state.lastScanAt), .text(state.lastResult),
                    json.map(StoreValue.text) ?? .null,
                ])
        }
    }

    public func eachScanState(zone: DomainName?, _ body: (ScanState) throws -> Void) throws {
        try each(StoreQueries.scanStates(zone: zone), "read scan states") { try body(try PostgresRows.scanState($0)) }
    }
}
