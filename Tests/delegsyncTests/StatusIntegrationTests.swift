import Foundation
import Store
import TestSupport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// `delegsync status` tells the truth (issue 12): exit 3 when the agent is down whatever the
/// store's state, no file created, and "up" only for the agent that proves it serves this
/// configuration's store — not for another agent with another store, a BIND, or any other
/// program answering on the listen address. Status questions are not audited. Addresses
/// 127.0.0.60–69 are this file's; run under the lab lock.
final class StatusIntegrationTests: CommandLineTestCase {
    /// A parent configuration listening on `address`:`port` with its store at `store`.
    func config(_ name: String, address: String, port: Int, store: String) throws -> String {
        let file = "\(directory)/\(name).yaml"
        try """
        version: 1
        listen: [{ address: \(address), port: \(port) }]
        store: { path: \(store) }
        zones:
          - name: parent.
            primary: { address: \(address), port: 1 }
            backend: { type: script, output: "-" }

        """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// `status` for a configuration listening on `address`:`port` whose store exists (made
    /// here when it does not yet).
    func status(_ name: String, address: String, port: Int) throws -> Tool.Result {
        let store = "\(directory)/\(name).sqlite"
        if !FileManager.default.fileExists(atPath: store) { _ = try SQLiteStore(path: store) }
        return try delegsync("status", "--config", try config(name, address: address, port: port, store: store))
    }

    /// Every file below `directory`, relative.
    func files(_ directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).sorted()
    }

    func testDownOnAFreshHostIsExit3AndCreatesNothing() throws {
        let config = try config("fresh", address: "127.0.0.60", port: 15360, store: "\(directory)/missing/state.sqlite")
        let before = files(directory)
        let status = try delegsync("status", "--config", config)
        XCTAssertEqual(status.status, 3, status.stdout + status.stderr)
        XCTAssertTrue(status.stdout.contains("agent: down: no answer on 127.0.0.60 port 15360"), status.stdout)
        XCTAssertTrue(status.stdout.contains("store: \(directory)/missing/state.sqlite does not exist"), status.stdout)
        XCTAssertEqual(files(directory), before, "status created files")

        // A store that exists, no agent: still 3, and no -wal or -shm left beside it.
        let existing = try self.config("existing", address: "127.0.0.60", port: 15360, store: "\(directory)/state.sqlite")
        _ = try SQLiteStore(path: "\(directory)/state.sqlite")
        let withStore = files(directory)
        let again = try delegsync("status", "--config", existing)
        XCTAssertEqual(again.status, 3, again.stdout + again.stderr)
        XCTAssertTrue(again.stdout.contains("outbox: 0 change(s) waiting"), again.stdout)
        XCTAssertEqual(files(directory), withStore, "status created files")
        XCTAssertEqual(try delegsync("status", "--config", existing, "child.parent.").status, 2)
        XCTAssertEqual(files(directory), withStore, "status CHILD created files")

        // The shipped sample on a host without /var/lib/delegsync.
        if !FileManager.default.fileExists(atPath: "/var/lib/delegsync") {
            let sample = try delegsync("status", "--config", CheckConfigCommandTests.contrib + "/delegsync.yaml")
            XCTAssertEqual(sample.status, 3, sample.stdout + sample.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/var/lib/delegsync"), "status created the store's directory")
        }
    }

    /// Starts `delegsync serve` and waits until status says it is up.
    func serve(_ config: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try XCTUnwrap(DelegsyncBinary.path))
        process.arguments = ["serve", "--config", config]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if try delegsync("status", "--config", config).status == 0 { return process }
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.terminate()
        process.waitUntilExit()
        throw ToolError("delegsync serve --config \(config) did not come up")
    }

    func testUpOnlyForTheAgentServingThisStore() throws {
        let mine = try config("mine", address: "127.0.0.60", port: 15361, store: "\(directory)/mine.sqlite")
        let agent = try serve(mine)
        defer {
            agent.terminate()
            agent.waitUntilExit()
        }
        let up = try delegsync("status", "--config", mine)
        XCTAssertEqual(up.status, 0, up.stdout + up.stderr)
        XCTAssertTrue(up.stdout.contains("agent: up, answering on 127.0.0.60 port 15361\n"), up.stdout)

        // Another configuration, another store, the same listen address: not its agent.
        let other = try status("theirs", address: "127.0.0.60", port: 15361)
        XCTAssertEqual(other.status, 3, other.stdout + other.stderr)
        XCTAssertTrue(other.stdout.contains("agent: down (something else answers on 127.0.0.60 port 15361: a delegsync agent ("), other.stdout)
        XCTAssertTrue(other.stdout.contains(") that does not serve the store \(directory)/theirs.sqlite)"), other.stdout)

        // Serving that configuration fails: the address is taken, and the error says which.
        let second = try delegsync("serve", "--config", "\(directory)/theirs.yaml")
        XCTAssertEqual(second.status, 2)
        XCTAssertEqual(
            second.stderr.split(separator: "\n").last, "error: cannot listen on 127.0.0.60 port 15361 (TCP): Address already in use", second.stderr)

        // None of these questions is in the agent's audit (each used to be `NOTIMP: opcode QUERY`).
        let audit = try delegsync("audit", "--config", mine)
        XCTAssertEqual(audit.status, 0, audit.stderr)
        XCTAssertEqual(audit.stdout, "", "status questions were audited")
    }

    /// BIND on the agent's listen address answers the question (REFUSED): not the agent.
    func testAnUnrelatedNameserverOnTheListenAddressIsNotTheAgent() throws {
        try Lab.skipUnlessAvailable(.bind)
        let bind = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.61", port: 15362)
        defer { bind.stop() }
        let status = try status("bind", address: "127.0.0.61", port: 15362)
        XCTAssertEqual(status.status, 3, status.stdout + status.stderr)
        XCTAssertTrue(status.stdout.contains("agent: down (something else answers on 127.0.0.61 port 15362: "), status.stdout)
        XCTAssertFalse(status.stdout.contains("delegsync agent"), status.stdout)
    }

    /// A plain TCP echo service on the listen address: it answers, but not as the agent; a
    /// service that closes the connection without a word is no answer at all.
    func testAPlainTCPResponderIsNotTheAgent() throws {
        let echo = try PlainResponder(address: "127.0.0.62", port: 15363, echo: true)
        defer { echo.stop() }
        let status = try status("plain", address: "127.0.0.62", port: 15363)
        XCTAssertEqual(status.status, 3, status.stdout + status.stderr)
        XCTAssertTrue(
            status.stdout.contains("agent: down (something else answers on 127.0.0.62 port 15363: the question sent back, not an answer (QR clear))"),
            status.stdout)

        let mute = try PlainResponder(address: "127.0.0.62", port: 15364, echo: false)
        defer { mute.stop() }
        let silent = try self.status("mute", address: "127.0.0.62", port: 15364)
        XCTAssertEqual(silent.status, 3, silent.stdout + silent.stderr)
        XCTAssertTrue(silent.stdout.contains("agent: down: no answer on 127.0.0.62 port 15364"), silent.stdout)
    }
}

/// A TCP listener that sends back what each connection sends (`echo`), or closes it unanswered.
final class PlainResponder: @unchecked Sendable {
    let socketFD: Int32

    init(address: String, port: UInt16, echo: Bool) throws {
        socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw ToolError("socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = port.bigEndian
        inet_pton(AF_INET, address, &local.sin_addr)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(socketFD, 8) == 0 else {
            close(socketFD)
            throw ToolError("cannot listen on \(address) port \(port): \(String(cString: strerror(errno)))")
        }
        let fd = socketFD
        Thread.detachNewThread {
            while true {
                let connection = accept(fd, nil, nil)
                guard connection >= 0 else { return }
                var request = [UInt8](repeating: 0, count: 512)
                let count = read(connection, &request, request.count)
                if echo, count > 0 { _ = request.withUnsafeBytes { write(connection, $0.baseAddress, count) } }
                close(connection)
            }
        }
    }

    func stop() {
        shutdown(socketFD, Int32(SHUT_RDWR))
        close(socketFD)
    }
}
