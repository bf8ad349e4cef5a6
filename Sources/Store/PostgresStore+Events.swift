import DNSWire
import DelegationCore
import Foundation

/// The operator events' open episodes, the outbox backlog they are judged by, and the status
/// secret: as in ``SQLiteStore``, shared by every agent on the database — an episode one agent
/// reported is not reported again by another, and every agent proves the same identity to
/// `delegsync status`.
extension PostgresStore {
    public func eventEpisodes() throws -> [EventMonitor.Episode] {
        try transaction("read the open event episodes") { session in
            try session.rows("SELECT * FROM event_episodes ORDER BY kind, zone, child").map(PostgresRows.episode)
        }
    }

    public func putEventEpisode(_ episode: EventMonitor.Episode) throws {
        try transaction("store the \(episode.kind.rawValue) episode of \(episode.subject)") { session in
            try session.execute(
                """
                INSERT INTO event_episodes (kind, zone, child, since, reported_at, detail) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (kind, zone, child) DO UPDATE SET since = excluded.since, reported_at = excluded.reported_at, detail = excluded.detail
                """,
                [
                    .text(episode.kind.rawValue), .text(StoreQueries.text(episode.zone)), .text(episode.child.map(StoreQueries.text) ?? ""),
                    .int(episode.since), episode.reportedAt.map(StoreValue.int) ?? .null, .text(episode.detail),
                ])
        }
    }

    @discardableResult
    public func removeEventEpisode(_ kind: EventMonitor.Episode.Kind, zone: DomainName, child: DomainName?) throws -> EventMonitor.Episode? {
        try transaction("remove the \(kind.rawValue) episode of \(child ?? zone)") { session in
            try session.rows(
                "DELETE FROM event_episodes WHERE kind = ? AND zone = ? AND child = ? RETURNING *",
                [.text(kind.rawValue), .text(StoreQueries.text(zone)), .text(child.map(StoreQueries.text) ?? "")]
            ).first.map(PostgresRows.episode)
        }
    }

    /// One row per child with pending entries: the oldest entry's columns (`DISTINCT ON`, oldest
    /// first) and the count over the child's pending entries.
    public func outboxBacklog() throws -> [EventMonitor.Backlog] {
        try transaction("summarize the outbox") { session in
            try session.rows(
                """
                SELECT DISTINCT ON (zone, child) zone, child, created_at, COUNT(*) OVER (PARTITION BY zone, child) AS n,
                    signer_algorithm, signer_key_tag, signer_digest, last_error
                FROM outbox WHERE state = ? ORDER BY zone, child, created_at, id
                """,
                [.text(OutboxEntry.State.pending.rawValue)]
            ).map { row in
                let zone = try PostgresRows.name(row, "zone", "outbox"), child = try PostgresRows.name(row, "child", "outbox")
                return EventMonitor.Backlog(
                    zone: zone, child: child, oldest: try PostgresRows.int(row, "created_at", "outbox"), count: Int(try PostgresRows.int(row, "n", "outbox")),
                    signer: try PostgresRows.signer(row, zone: zone, child: child),
                    lastError: try PostgresRows.optional(row, "last_error", "outbox", String.self))
            }
        }
    }

    public func statusSecret() throws -> [UInt8] {
        try transaction("read the status secret") { session in
            guard let row = try session.rows("SELECT value FROM secrets WHERE name = 'status'").first else {
                throw StoreError(.corrupt, "store \(location) has no status secret")
            }
            return try PostgresRows.bytes(row, "value", "secrets")
        }
    }
}
