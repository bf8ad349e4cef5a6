import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO

/// The connections one ``PostgresStore`` keeps to the server, and the bridge from the store's
/// synchronous methods to postgres-nio.
///
/// ## Why synchronous calls, and why they cannot deadlock
/// ``DelegationStore`` is synchronous (every caller — the request path, the workers, the CLI —
/// does one short transaction and goes on). postgres-nio is asynchronous. The bridge:
/// - the connections live on an event loop group of their own (one thread), which nothing but
///   these connections uses;
/// - a store call runs on the caller's thread and hands each statement to postgres-nio's
///   `EventLoopFuture` interface, then blocks that thread on a semaphore until the future
///   completes. The future is completed by the store's own event loop thread, which never waits
///   for anything, so the wait always ends (or the connection's error ends it);
/// - no Swift concurrency is involved in a statement: a caller on the cooperative thread pool
///   blocks one of its threads, exactly as a SQLite transaction does, but the statement never
///   needs a cooperative thread to finish (a `Task` bridged back with a semaphore would deadlock
///   once every cooperative thread waited);
/// - a call from the store's own event loop would wait for itself: it is a precondition
///   failure, never a hang. A caller on another event loop (the metrics endpoint renders on
///   one) blocks that loop for one short transaction, as it would with SQLite.
///
/// At most `maximum` statements run at once; a further caller waits for a free connection.
/// A connection that failed below SQL (closed, protocol error) is dropped and replaced by a
/// new one at the next call.
final class PostgresConnections: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let permits: DispatchSemaphore
    private let idle = NIOLockedValueBox<[PostgresConnection]>([])
    private let nextID = NIOLockedValueBox(0)
    /// Where, for messages (no password).
    let location: String

    init(configuration: PostgresConnection.Configuration, maximum: Int, location: String, logger: Logger) {
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.configuration = configuration
        self.permits = DispatchSemaphore(value: max(1, maximum))
        self.location = location
        self.logger = logger
    }

    deinit {
        for connection in idle.withLockedValue({ $0 }) + spare.withLockedValue({ $0 }) { Self.close(connection) }
        group.shutdownGracefully { _ in }
    }

    /// Closes a connection and waits until it is closed (postgres-nio wants every connection
    /// closed before it goes).
    static func close(_ connection: PostgresConnection) {
        _ = try? wait(connection.close())
    }

    /// Runs `body` with a connection of the pool, waiting for one when all are busy.
    func withSession<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        permits.wait()
        defer { permits.signal() }
        let connection = try idle.withLockedValue { $0.popLast() } ?? open()
        let session = PostgresSession(connection: connection, logger: logger)
        do {
            let result = try body(session)
            idle.withLockedValue { $0.append(connection) }
            return result
        } catch {
            if connection.isClosed || !PostgresSession.isServerError(error) {
                Self.close(connection)
            } else {
                idle.withLockedValue { $0.append(connection) }
            }
            throw error
        }
    }

    /// Connections for the locks per child, idle between two locks.
    private let spare = NIOLockedValueBox<[PostgresConnection]>([])

    /// A connection outside the pool, for a lock held across a commit (which must not take a
    /// connection the commit itself needs): a spare one, or a new one. Give it back with
    /// ``giveBack(_:)`` once it holds no lock, or close it.
    func lockConnection() throws -> PostgresConnection {
        while let connection = spare.withLockedValue({ $0.popLast() }) {
            if !connection.isClosed { return connection }
        }
        return try open()
    }

    /// Keeps a connection that holds no lock for the next one (a few at most), else closes it.
    func giveBack(_ connection: PostgresConnection) {
        let kept = spare.withLockedValue { spare -> Bool in
            guard spare.count < 16, !connection.isClosed else { return false }
            spare.append(connection)
            return true
        }
        if !kept { Self.close(connection) }
    }

    func open() throws -> PostgresConnection {
        let id = nextID.withLockedValue { value -> Int in
            value += 1
            return value
        }
        do {
            return try Self.wait(PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger))
        } catch {
            throw StoreError(.open, "cannot connect to store \(location): \(PostgresSession.explain(error))")
        }
    }

    /// How long one statement may take before its connection is closed (which fails it): a
    /// store call never hangs on a server or network that stopped answering.
    static let statementLimit: DispatchTimeInterval = .seconds(30)

    /// Blocks the calling thread until `future` completes (see the type's documentation). After
    /// `limit`, `connection` (the one the future waits for) is closed, which completes it.
    static func wait<T: Sendable>(_ future: EventLoopFuture<T>, closing connection: PostgresConnection? = nil, limit: DispatchTimeInterval = statementLimit)
        throws -> T
    {
        precondition(!future.eventLoop.inEventLoop, "a PostgresStore call on the store's own event loop would wait for itself")
        let done = DispatchSemaphore(value: 0)
        let outcome = NIOLockedValueBox<Result<T, any Error>?>(nil)
        future.whenComplete { result in
            outcome.withLockedValue { $0 = result }
            done.signal()
        }
        if done.wait(timeout: .now() + limit) == .timedOut {
            if let connection { connection.close().whenComplete { _ in } }
            done.wait()
        }
        return try outcome.withLockedValue { $0! }.get()
    }
}

/// One connection, borrowed for one store call: statements with `?` placeholders
/// (``StoreQuery``), run one after another.
struct PostgresSession {
    let connection: PostgresConnection
    let logger: Logger

    /// Every row of the result.
    func rows(_ sql: String, _ values: [StoreValue] = []) throws -> [PostgresRandomAccessRow] {
        try run(StoreQuery(sql: sql, values: values)).rows.map { $0.makeRandomAccess() }
    }

    func rows(_ query: StoreQuery) throws -> [PostgresRandomAccessRow] {
        try run(query).rows.map { $0.makeRandomAccess() }
    }

    /// Runs a statement; returns how many rows it changed (or returned).
    @discardableResult
    func execute(_ sql: String, _ values: [StoreValue] = []) throws -> Int {
        let result = try run(StoreQuery(sql: sql, values: values))
        return result.metadata.rows ?? result.rows.count
    }

    private func run(_ query: StoreQuery) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: query.values.count)
        for value in query.values {
            switch value {
            case .int(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .bytes(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            case .double(let number): bindings.append(number)
            case .null: bindings.appendNull()
            }
        }
        guard !connection.isClosed else { throw StoreError(.read, "the connection to the store is closed") }
        return try PostgresConnections.wait(
            connection.query(PostgresQuery(unsafeSQL: query.numbered, binds: bindings), logger: logger), closing: connection)
    }

    /// The server refused a statement (the connection itself is fine).
    static func isServerError(_ error: any Error) -> Bool {
        (error as? PSQLError)?.code == .server
    }

    /// The SQLSTATE of a server error (`40001`, `23505`, …).
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The server's message and SQLSTATE, or what failed below SQL (postgres-nio's own
    /// description hides both).
    static func explain(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo, let message = info[.message] {
            return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "") + (info[.detail].map { ": \($0)" } ?? "")
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
