import DNSWire
import DelegationCore
import Foundation
import PostgresNIO

/// Rows of ``PostgresStore``'s tables as the store's values; a row that does not decode is
/// ``StoreError/Code/corrupt``, naming the table and column.
enum PostgresRows {
    static func storedKey(_ row: PostgresRandomAccessRow) throws -> StoredKey {
        let stateText = try text(row, "state", "keys")
        guard let state = KeyTrustState(rawValue: stateText) else {
            throw StoreError(.corrupt, "cannot read key state \"\(stateText)\" of \(try text(row, "child", "keys"))")
        }
        return StoredKey(
            zone: try name(row, "zone", "keys"), child: try name(row, "child", "keys"), keyTag: UInt16(truncatingIfNeeded: try int(row, "key_tag", "keys")),
            algorithm: UInt8(truncatingIfNeeded: try int(row, "algorithm", "keys")), rdata: try bytes(row, "rdata", "keys"), state: state,
            addedAt: try int(row, "added_at", "keys"), origin: try text(row, "origin", "keys"))
    }

    static func auditEntry(_ row: PostgresRandomAccessRow) throws -> AuditEntry {
        AuditEntry(
            id: try int(row, "id", "audit"), time: try int(row, "time", "audit"), source: try text(row, "source", "audit"),
            transport: try text(row, "transport", "audit"), zone: try optional(row, "zone", "audit", String.self),
            signer: try optional(row, "signer", "audit", String.self),
            keyTag: try optional(row, "key_tag", "audit", Int64.self).map { UInt16(truncatingIfNeeded: $0) }, request: try text(row, "request", "audit"),
            decision: try text(row, "decision", "audit"), reason: try text(row, "reason", "audit"),
            backendResult: try optional(row, "backend_result", "audit", String.self), count: Int(try int(row, "count", "audit")))
    }

    static func outboxEntry(_ row: PostgresRandomAccessRow) throws -> OutboxEntry {
        let id = try int(row, "id", "outbox")
        let stateText = try text(row, "state", "outbox")
        guard let state = OutboxEntry.State(rawValue: stateText) else {
            throw StoreError(.corrupt, "cannot read state \"\(stateText)\" of outbox entry \(id)")
        }
        let zone = try name(row, "zone", "outbox"), child = try name(row, "child", "outbox")
        let signer = try self.signer(row, zone: zone, child: child)
        return OutboxEntry(
            id: id, zone: zone, child: child, operations: try StoredOperations.decode(try text(row, "operations", "outbox")), state: state,
            attempts: Int(try int(row, "attempts", "outbox")), createdAt: try int(row, "created_at", "outbox"),
            nextAttemptAt: try int(row, "next_attempt_at", "outbox"), lastError: try optional(row, "last_error", "outbox", String.self), signer: signer,
            deadline: try optional(row, "deadline", "outbox", Int64.self))
    }

    /// The key that signed an outbox entry (`signer_*` columns); nil for the operator's entries.
    static func signer(_ row: PostgresRandomAccessRow, zone: DomainName, child: DomainName) throws -> KeyIdentity? {
        guard let digest = try optional(row, "signer_digest", "outbox", ByteBuffer.self),
            let algorithm = try optional(row, "signer_algorithm", "outbox", Int64.self),
            let keyTag = try optional(row, "signer_key_tag", "outbox", Int64.self)
        else { return nil }
        return KeyIdentity(
            zone: zone, child: child, algorithm: UInt8(truncatingIfNeeded: algorithm), keyTag: UInt16(truncatingIfNeeded: keyTag),
            digest: Array(digest.readableBytesView))
    }

    static func episode(_ row: PostgresRandomAccessRow) throws -> EventMonitor.Episode {
        let kindText = try text(row, "kind", "event_episodes")
        guard let kind = EventMonitor.Episode.Kind(rawValue: kindText) else {
            throw StoreError(.corrupt, "cannot read event episode kind \"\(kindText)\"")
        }
        let child = try text(row, "child", "event_episodes")
        return EventMonitor.Episode(
            kind: kind, zone: try name(row, "zone", "event_episodes"), child: child.isEmpty ? nil : try name(row, "child", "event_episodes"),
            since: try int(row, "since", "event_episodes"), reportedAt: try optional(row, "reported_at", "event_episodes", Int64.self),
            detail: try text(row, "detail", "event_episodes"))
    }

    static func scanState(_ row: PostgresRandomAccessRow) throws -> ScanState {
        let zone = try name(row, "zone", "scan_state"), child = try name(row, "child", "scan_state")
        return ScanState(
            zone: zone, child: child, lastScanAt: try int(row, "last_scan_at", "scan_state"), lastResult: try text(row, "last_result", "scan_state"),
            bootstrap: try optional(row, "bootstrap", "scan_state", String.self).map { try ScanStateJSON.observation($0, of: child) })
    }

    static func job(_ row: PostgresRandomAccessRow) throws -> KeyBootstrap {
        try SQLiteStore.job(try text(row, "job", "bootstrap"))
    }

    // MARK: Cells

    static func int(_ row: PostgresRandomAccessRow, _ column: String, _ table: String) throws -> Int64 {
        try cell(row, column, table, Int64.self)
    }

    static func text(_ row: PostgresRandomAccessRow, _ column: String, _ table: String) throws -> String {
        try cell(row, column, table, String.self)
    }

    static func bytes(_ row: PostgresRandomAccessRow, _ column: String, _ table: String) throws -> [UInt8] {
        Array(try cell(row, column, table, ByteBuffer.self).readableBytesView)
    }

    static func name(_ row: PostgresRandomAccessRow, _ column: String, _ table: String) throws -> DomainName {
        let value = try text(row, column, table)
        do {
            return try DomainName(value)
        } catch {
            throw StoreError(.corrupt, "cannot read \(table).\(column) \"\(value)\": \(error)")
        }
    }

    static func optional<T: PostgresDecodable>(_ row: PostgresRandomAccessRow, _ column: String, _ table: String, _ type: T.Type) throws -> T?
    where T._DecodableType == T {
        try cell(row, column, table, T?.self)
    }

    private static func cell<T: PostgresDecodable>(_ row: PostgresRandomAccessRow, _ column: String, _ table: String, _ type: T.Type) throws -> T {
        do {
            return try row[column].decode(T.self)
        } catch {
            throw StoreError(.corrupt, "cannot read \(table).\(column): \(error)")
        }
    }
}
