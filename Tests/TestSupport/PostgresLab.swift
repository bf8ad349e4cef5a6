import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster for one test (shared/LAB.md, "PostgreSQL in tests"): `initdb`
/// in a temporary directory, the server on 127.0.0.1 at `port`, trust authentication for the
/// user `delegsync`; stopped and removed by ``stop()``. PostgreSQL refuses to run as root, so as
/// root the server binaries run as the `postgres` user (runuser).
///
/// A cluster left behind by a test process that died (its directory names the port) is stopped
/// before a new one starts on the same port.
public final class PostgresLab: @unchecked Sendable {
    public let directory: String
    public let port: Int
    private let server = Process()
    private let lock = NSLock()
    private var stopped = false

    static let binaries = "/usr/lib/postgresql/15/bin"
    static let user = "delegsync"

    /// Why no cluster can be started here, or nil.
    public static var missing: String? {
        guard FileManager.default.isExecutableFile(atPath: "\(binaries)/initdb") else {
            return "PostgreSQL 15 is not installed (Debian's postgresql package: make deps)"
        }
        if getuid() == 0, getpwnam("postgres") == nil { return "there is no postgres user to run the server as" }
        return nil
    }

    /// Starts a cluster and waits until it accepts connections.
    public init(port: Int) throws {
        if let missing = Self.missing { throw ToolError(missing) }
        self.port = port
        let prefix = "delegsync-pglab-\(port)-"
        Self.stopLeftovers(prefix: prefix)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(prefix + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0 {
            let owned = try Tool.run("chown", ["postgres", directory])
            guard owned.status == 0 else { throw ToolError("chown postgres \(directory): \(owned.stderr)") }
        }
        let initdb = try Self.run("initdb", ["-D", "\(directory)/data", "-A", "trust", "-U", Self.user, "--no-sync"])
        guard initdb.status == 0 else {
            try? FileManager.default.removeItem(atPath: directory)
            throw ToolError("initdb failed: \(initdb.stdout)\(initdb.stderr)")
        }
        // The postmaster runs in the foreground as our child (pg_ctl would leave a daemon holding
        // the descriptors Foundation watches to see a child exit, and waiting for it hangs).
        let log = "\(directory)/pg.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        server.standardOutput = handle
        server.standardError = handle
        server.standardInput = FileHandle.nullDevice
        server.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        let arguments = ["-D", "\(directory)/data", "-p", "\(port)", "-k", directory, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"]
        if getuid() == 0 {
            server.executableURL = URL(fileURLWithPath: Tool.find("runuser") ?? "/usr/sbin/runuser")
            server.arguments = ["-u", "postgres", "--", "\(Self.binaries)/postgres"] + arguments
        } else {
            server.executableURL = URL(fileURLWithPath: "\(Self.binaries)/postgres")
            server.arguments = arguments
        }
        try server.run()
        try? handle.close()
        for _ in 0..<300 {
            if try Self.run("pg_isready", ["-h", "127.0.0.1", "-p", "\(port)", "-t", "1"]).status == 0 { return }
            guard server.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        stop()
        throw ToolError("PostgreSQL did not start on 127.0.0.1:\(port): \(output)")
    }

    /// `postgres://delegsync@127.0.0.1:PORT/DATABASE`
    public func url(_ database: String = "postgres") -> String {
        "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)"
    }

    /// Makes an empty database and returns its URL.
    public func createDatabase(_ name: String) throws -> String {
        let made = try Self.run("createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, name])
        guard made.status == 0 else { throw ToolError("createdb \(name): \(made.stderr)") }
        return url(name)
    }

    /// Runs `sql` with psql against `database`; its output, unaligned and without headers.
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let result = try Self.run("psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard result.status == 0 else { throw ToolError("psql: \(result.stderr)") }
        return result.stdout
    }

    /// Stops the server (fast shutdown) and removes the directory; a second call does nothing.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        _ = try? Self.run("pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
        if server.isRunning {
            server.terminate()
            server.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    /// A server binary, as the postgres user when we are root.
    static func run(_ program: String, _ arguments: [String]) throws -> Tool.Result {
        if getuid() == 0 {
            return try Tool.run("runuser", ["-u", "postgres", "--", "\(binaries)/\(program)"] + arguments, directory: "/tmp")
        }
        return try Tool.run("\(binaries)/\(program)", arguments)
    }

    private static func stopLeftovers(prefix: String) {
        let temporary = FileManager.default.temporaryDirectory.path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix(prefix) {
            let path = "\(temporary)/\(name)"
            _ = try? run("pg_ctl", ["-D", "\(path)/data", "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
