import DNSWire
import DelegationCore
import Foundation

/// A value bound to a statement, for SQL text both stores share.
enum StoreValue: Sendable, Hashable {
    case int(Int64)
    case text(String)
    case bytes([UInt8])
    case double(Double)
    case null
}

/// SQL text with `?` placeholders and the values for them. PostgreSQL numbers its
/// placeholders (`$1`, `$2`, …): ``numbered`` writes them so.
struct StoreQuery: Sendable {
    var sql: String
    var values: [StoreValue]

    /// The text with `$1`, `$2`, … for the `?` placeholders (no `?` occurs otherwise in our SQL).
    var numbered: String {
        var number = 0
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        for character in sql {
            if character == "?" {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// Where the two engines spell a thing differently.
enum StoreDialect: Sendable {
    case sqlite, postgresql

    /// `column` equals the bound text, ignoring ASCII case.
    func equalsIgnoringCase(_ column: String) -> String {
        switch self {
        case .sqlite: "\(column) = ? COLLATE NOCASE"
        case .postgresql: "lower(\(column)) = lower(?)"
        }
    }

    /// `column` ordered by its bytes, as SQLite orders text.
    func bytewise(_ column: String) -> String {
        switch self {
        case .sqlite: column
        case .postgresql: "\(column) COLLATE \"C\""
        }
    }
}

/// The statements of the operator's listings and of the claims, written once for both stores.
enum StoreQueries {
    /// How a name is stored: lower-cased presentation form.
    static func text(_ name: DomainName) -> String { name.lowercased.description }

    /// The scan states of `zone` (of every zone when nil), ordered by zone and child.
    static func scanStates(zone: DomainName?) -> StoreQuery {
        guard let zone else { return StoreQuery(sql: "SELECT * FROM scan_state ORDER BY zone, child", values: []) }
        return StoreQuery(sql: "SELECT * FROM scan_state WHERE zone = ? ORDER BY zone, child", values: [.text(text(zone))])
    }

    /// Placeholders for `count` rows of `columns` values: `(?, ?), (?, ?)` for a VALUES list or
    /// an IN list of row values, and `?, ?` for one column (an IN list of values).
    static func rows(_ count: Int, columns: Int) -> String {
        let row = Array(repeating: "?", count: columns).joined(separator: ", ")
        return Array(repeating: columns == 1 ? row : "(\(row))", count: count).joined(separator: ", ")
    }

    static func keys(_ filter: KeyFilter, _ dialect: StoreDialect) -> StoreQuery {
        var conditions: [String] = []
        var values: [StoreValue] = []
        if let zone = filter.zone {
            conditions.append("zone = ?")
            values.append(.text(text(zone)))
        }
        if let child = filter.child {
            conditions.append("child = ?")
            values.append(.text(text(child)))
        }
        if let state = filter.state {
            conditions.append("state = ?")
            values.append(.text(state.rawValue))
        }
        if let since = filter.since {
            conditions.append("added_at >= ?")
            values.append(.int(since))
        }
        let order = "\(dialect.bytewise("child")), key_tag, \(dialect.bytewise("zone")), algorithm, id"
        return finish("SELECT * FROM keys", conditions, values, order: order, limit: filter.limit)
    }

    static func audit(_ filter: AuditFilter, _ dialect: StoreDialect) -> StoreQuery {
        var conditions: [String] = []
        var values: [StoreValue] = []
        if let child = filter.child {
            conditions.append(dialect.equalsIgnoringCase("signer"))
            values.append(.text(text(child)))
        }
        if let decision = filter.decision {
            conditions.append(dialect.equalsIgnoringCase("decision"))
            values.append(.text(decision))
        }
        if let since = filter.since {
            conditions.append("time >= ?")
            values.append(.int(since))
        }
        return finish("SELECT * FROM audit", conditions, values, order: "id DESC", limit: filter.limit)
    }

    static func bootstraps(_ filter: BootstrapFilter) -> StoreQuery {
        var conditions: [String] = []
        var values: [StoreValue] = []
        if let child = filter.child {
            conditions.append("child = ?")
            values.append(.text(text(child)))
        }
        if let state = filter.state {
            conditions.append("state = ?")
            values.append(.text(state))
        }
        if filter.activeOnly { conditions.append("final = 0") }
        if let since = filter.since {
            conditions.append("updated_at >= ?")
            values.append(.int(since))
        }
        return finish("SELECT job FROM bootstrap", conditions, values, order: "id", limit: filter.limit)
    }

    private static func finish(_ select: String, _ conditions: [String], _ values: [StoreValue], order: String, limit: Int?) -> StoreQuery {
        var sql = select
        var values = values
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY " + order
        if let limit {
            sql += " LIMIT ?"
            values.append(.int(Int64(max(0, limit))))
        }
        return StoreQuery(sql: sql, values: values)
    }

    /// Stores a bootstrap job (the value as JSON, its state and due time in columns), replacing
    /// the one of the same zone, child and key; storing ends a claim on it.
    static func putBootstrap(_ job: KeyBootstrap, now: Int64) throws -> StoreQuery {
        let json: String
        do {
            json = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
        } catch {
            throw StoreError(.write, "cannot encode the bootstrap job of \(job.child): \(error)")
        }
        return StoreQuery(
            sql: """
                INSERT INTO bootstrap (zone, child, key, key_tag, final, job, updated_at, state, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (zone, child, key) DO UPDATE SET final = excluded.final, job = excluded.job, updated_at = excluded.updated_at,
                    state = excluded.state, due_at = excluded.due_at, claimed_by = NULL, lease_until = NULL
                """,
            values: [
                .text(text(try DomainName(job.zone))), .text(text(try DomainName(job.child))), .bytes(job.key), .int(Int64(job.keyTag)),
                .int(job.state.isFinal ? 1 : 0), .text(json), .int(now), .text(SQLiteStore.stateName(job.state)), .int(SQLiteStore.dueAt(job)),
            ])
    }

    // MARK: Claims

    /// A claim is free when nobody holds it or its lease has run out (`lease_until <= now`).
    static let unclaimed = "(lease_until IS NULL OR lease_until <= ?)"

    /// The due pending outbox entries nobody holds, oldest first.
    static func claimablePending(now: Int64, limit: Int) -> StoreQuery {
        StoreQuery(
            sql: "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND \(unclaimed) ORDER BY id LIMIT ?",
            values: [.int(now), .int(now), .int(Int64(limit))])
    }

    /// The due unfinished jobs nobody holds, by due time.
    static func claimableBootstraps(now: Int64, limit: Int) -> StoreQuery {
        StoreQuery(
            sql: "SELECT id FROM bootstrap WHERE final = 0 AND due_at <= ? AND \(unclaimed) ORDER BY due_at, id LIMIT ?",
            values: [.int(now), .int(now), .int(Int64(limit))])
    }

    /// The claim a new outbox entry is stored with: the agent that queues a change to apply at
    /// once applies it itself; an entry for later is anyone's when it is due.
    static func claim(of entry: OutboxEntry, claimant: String, lease: Int64) -> (claimant: String, until: Int64)? {
        guard entry.state == .pending, entry.nextAttemptAt <= entry.createdAt else { return nil }
        return (claimant, entry.createdAt + lease)
    }
}
