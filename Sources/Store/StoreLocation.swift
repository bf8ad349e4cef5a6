import Foundation

/// Which store the agent uses: the `store` section of its configuration.
///
///     store: { path: /var/lib/delegsync/delegsync.sqlite }             # SQLite, the default
///     store: { type: postgresql, url: postgres://delegsync@db1:5432/delegsync }
public struct StoreLocation: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case sqlite, postgresql
    }

    /// Seconds a claim on an outbox entry or a bootstrap job lasts before another agent may take
    /// it over. Default 120.
    public static let defaultLease: Int64 = 120
    /// Connections one agent opens to PostgreSQL for its queries. Default 8.
    public static let defaultConnections = 8

    public var kind: Kind
    /// SQLite: the database file.
    public var path: String
    /// PostgreSQL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
    public var url: String?
    public var lease: Int64
    public var connections: Int

    public init(
        kind: Kind = .sqlite, path: String = "/var/lib/delegsync/delegsync.sqlite", url: String? = nil, lease: Int64 = StoreLocation.defaultLease,
        connections: Int = StoreLocation.defaultConnections
    ) {
        self.kind = kind
        self.path = path
        self.url = url
        self.lease = lease
        self.connections = connections
    }

    /// Opens the store, bringing its schema up to date.
    public func open() throws -> any DelegationStore {
        switch kind {
        case .sqlite:
            return try SQLiteStore(path: path, lease: lease)
        case .postgresql:
            guard let url else { throw StoreError(.open, "store.url is missing: give postgres://USER@HOST:PORT/DATABASE") }
            return try PostgresStore(url: url, lease: lease, connections: connections)
        }
    }

    /// Opens the store for reading only, creating and changing nothing, for commands that only
    /// look (`status`, `audit`, `keys list`); nil when a SQLite file does not exist. Throws when
    /// the schema is older than this delegsync's.
    public func openExisting() throws -> (any DelegationStore)? {
        switch kind {
        case .sqlite:
            return try SQLiteStore.existing(readingAt: path)
        case .postgresql:
            guard let url else { throw StoreError(.open, "store.url is missing: give postgres://USER@HOST:PORT/DATABASE") }
            return try PostgresStore.existing(readingAt: url)
        }
    }

    /// Where the store is, for messages; the password of a URL is left out.
    public var description: String {
        switch kind {
        case .sqlite: return path
        case .postgresql:
            guard let url, var components = URLComponents(string: url) else { return url ?? "" }
            if components.password != nil { components.password = "…" }
            return components.string ?? url
        }
    }
}
