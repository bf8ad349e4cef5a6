import DNSWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import Transport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// The server against our client and a raw TCP socket: UDP and TCP answers, several messages on
/// one TCP connection answered in order, the source passed to the handler, limits.
final class DNSServerTests: XCTestCase {
    /// Starts a server whose handler answers NOERROR with the request's ID and notes each context.
    func withServer(limits: DNSServerLimits = DNSServerLimits(), _ body: @escaping @Sendable (Int, NIOLockedValueBox<[DNSRequestContext]>) async throws -> Void)
        async throws
    {
        let seen = NIOLockedValueBox<[DNSRequestContext]>([])
        let server = DNSServer(host: "127.0.0.1", port: 0, limits: limits, logger: Logger(label: "test")) { request, context in
            seen.withLockedValue { $0.append(context) }
            guard let message = try? Message(wire: request) else { return nil }
            return try? message.makeResponse(rcode: .noError).wireFormat()
        }
        try await Self.running(server) { port in try await body(port, seen) }
    }

    /// Runs `server` until `body`, given the bound port, returns.
    static func running(_ server: DNSServer, _ body: (Int) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run { continuation.yield($0) } }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return XCTFail("server did not start") }
        try await body(port)
    }

    static func query(id: UInt16) throws -> [UInt8] {
        var message = Message(question: [Question(name: try DomainName("parent."), type: .soa)])
        message.id = id
        return try message.wireFormat()
    }

    func testUDPAndTCP() async throws {
        try await withServer { port, seen in
            for transport in [DNSTransportKind.udp, .tcp] {
                let reply = try Message(
                    wire: await DNSClient(timeout: .seconds(2)).exchange(try Self.query(id: 42), host: "127.0.0.1", port: port, transport: transport))
                XCTAssertEqual(reply.id, 42)
                XCTAssertTrue(reply.header.qr)
            }
            let contexts = seen.withLockedValue { $0 }
            XCTAssertEqual(contexts.map(\.transport), [.udp, .tcp])
            XCTAssertEqual(contexts.first?.sourceAddress, "127.0.0.1")
        }
    }

    /// RFC 7766 §6.2.1: several messages on one connection; answered in order.
    func testSeveralMessagesOnOneConnection() async throws {
        try await withServer { port, _ in
            let fd = try Self.connect(port)
            defer { close(fd) }
            var stream: [UInt8] = []
            for id in [UInt16(1), 2, 3] { stream += TCPFraming.frame(try Self.query(id: id)) }
            XCTAssertEqual(send(fd, stream, stream.count, 0), stream.count)
            var ids: [UInt16] = []
            for _ in 0..<3 {
                let length = try Self.read(fd, 2)
                let message = try Self.read(fd, Int(length[0]) << 8 | Int(length[1]))
                ids.append(UInt16(message[0]) << 8 | UInt16(message[1]))
            }
            XCTAssertEqual(ids, [1, 2, 3])
        }
    }

    /// A length prefix over the limit closes the connection without an answer.
    func testOversizedFrameClosesTheConnection() async throws {
        try await withServer(limits: DNSServerLimits(maxMessageSize: 512)) { port, seen in
            let fd = try Self.connect(port)
            defer { close(fd) }
            let huge: [UInt8] = [0x10, 0x00] + [UInt8](repeating: 0, count: 100)
            _ = send(fd, huge, huge.count, 0)
            var byte: UInt8 = 0
            XCTAssertLessThanOrEqual(recv(fd, &byte, 1, 0), 0, "the connection stays open")
            XCTAssertTrue(seen.withLockedValue { $0.isEmpty })
        }
    }

    /// Idle connections are closed after the timeout.
    func testIdleTimeout() async throws {
        try await withServer(limits: DNSServerLimits(tcpIdleTimeout: 1)) { port, _ in
            let fd = try Self.connect(port)
            defer { close(fd) }
            var byte: UInt8 = 0
            let start = Date()
            XCTAssertLessThanOrEqual(recv(fd, &byte, 1, 0), 0)
            XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        }
    }

    static func connect(_ port: Int, from source: String? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw DNSWireError(.encoding, "bind to \(source) failed: \(errno)") }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw DNSWireError(.encoding, "connect failed: \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func read(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        while out.count < count {
            let n = recv(fd, &buffer, count - out.count, 0)
            guard n > 0 else { throw DNSWireError(.truncated, "connection closed") }
            out += buffer.prefix(n)
        }
        return out
    }

    /// 64 slowloris connections, spread over `sources`, each holding one octet of a length prefix.
    static func slowloris(port: Int, sources: [String]) throws -> [Int32] {
        try (0..<64).map { index in
            let fd = try connect(port, from: sources[index % sources.count])
            _ = send(fd, [0x00], 1, Int32(MSG_NOSIGNAL))
            return fd
        }
    }

    /// A query over a new TCP connection from `source` gets its answer.
    static func assertAnswered(port: Int, from source: String, id: UInt16, file: StaticString = #filePath, line: UInt = #line) throws {
        let fd = try connect(port, from: source)
        defer { close(fd) }
        let query = TCPFraming.frame(try Self.query(id: id))
        XCTAssertEqual(send(fd, query, query.count, Int32(MSG_NOSIGNAL)), query.count, file: file, line: line)
        let length = try read(fd, 2)
        let answer = try read(fd, Int(length[0]) << 8 | Int(length[1]))
        XCTAssertEqual(UInt16(answer[0]) << 8 | UInt16(answer[1]), id, file: file, line: line)
    }

    /// Whether the server has closed `fd` (a read returns end of stream or an error), waiting
    /// at most `seconds`; 0 only looks.
    static func isClosed(_ fd: Int32, within seconds: Int) -> Bool {
        var byte: UInt8 = 0
        let n: Int
        if seconds == 0 {
            n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        } else {
            var timeout = timeval(tv_sec: seconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            n = recv(fd, &byte, 1, 0)
        }
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}

/// Issue 11, transport limits: what an attacker with its own addresses does over TCP and UDP.
extension DNSServerTests {
    /// 64 slow connections from one address took every slot: everybody else was locked out.
    /// Now one source gets at most `maxTCPConnectionsPerSource`, and another source is answered.
    func testOneSourceCannotTakeEveryConnection() async throws {
        try await withServer(limits: DNSServerLimits(maxTCPConnections: 64, maxTCPConnectionsPerSource: 8, maxTCPConnectionsPerPrefix: 64)) { port, _ in
            let held = try Self.slowloris(port: port, sources: ["127.0.0.1"])
            defer { for fd in held { close(fd) } }
            // Another source is answered at once, while the 64 are still held.
            try Self.assertAnswered(port: port, from: "127.0.0.2", id: 9)
            try await Task.sleep(for: .milliseconds(200))
            let closed = held.filter { Self.isClosed($0, within: 0) }.count
            XCTAssertGreaterThanOrEqual(closed, 56, "connections beyond 8 from one source are closed")
        }
    }

    /// A byte every 0.7 s kept a connection open for ever (the idle timer restarted on every
    /// byte). Now one message must arrive within `tcpMessageTimeout` of its first octet.
    func testASlowMessageIsCutOff() async throws {
        try await withServer(limits: DNSServerLimits(tcpIdleTimeout: 3, tcpMessageTimeout: 1)) { port, _ in
            let fd = try Self.connect(port)
            defer { close(fd) }
            signal(SIGPIPE, SIG_IGN)
            let frame = TCPFraming.frame(try Self.query(id: 3))
            let start = Date()
            var closedAfter: TimeInterval? = nil
            for byte in frame {
                if send(fd, [byte], 1, Int32(MSG_NOSIGNAL)) != 1 || Self.isClosed(fd, within: 0) {
                    closedAfter = Date().timeIntervalSince(start)
                    break
                }
                try await Task.sleep(for: .milliseconds(700))
                if Date().timeIntervalSince(start) > 8 { break }
            }
            let after = try XCTUnwrap(closedAfter, "the trickle was never cut off")
            XCTAssertLessThan(after, 6)
        }
    }

    /// A connection that sends more than its budget in all is closed, however well-formed.
    func testAConnectionHasAReadBudget() async throws {
        try await withServer(limits: DNSServerLimits(maxBytesPerConnection: 2000)) { port, seen in
            let fd = try Self.connect(port)
            defer { close(fd) }
            var stream: [UInt8] = []
            for id in 0..<200 { stream += TCPFraming.frame(try Self.query(id: UInt16(id))) }
            _ = send(fd, stream, stream.count, Int32(MSG_NOSIGNAL))
            try await Task.sleep(for: .milliseconds(500))
            let handled = seen.withLockedValue { $0.count }
            XCTAssertLessThan(handled, 200)
            XCTAssertLessThanOrEqual(handled * stream.count / 200, 2000)
        }
    }

    /// UDP replies to one source are rate limited: spoofed floods get no reflection.
    func testUDPRepliesAreRateLimitedPerSource() async throws {
        try await withServer(limits: DNSServerLimits(udpRepliesPerSourcePerSecond: 5)) { port, seen in
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            for id in 0..<40 {
                let query = try Self.query(id: UInt16(id))
                _ = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, query, query.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            // 5 a second, and the burst may straddle a second boundary.
            XCTAssertLessThanOrEqual(seen.withLockedValue { $0.count }, 10)
        }
    }

    /// A UDP flood that keeps every UDP slot busy must not keep TCP waiting: each transport has
    /// its own requests in flight (the legitimate child comes over TCP).
    func testAUDPFloodDoesNotStarveTCP() async throws {
        let server = DNSServer(
            host: "127.0.0.1", port: 0, limits: DNSServerLimits(udpRepliesPerSourcePerSecond: 0, maxInFlight: 2), logger: Logger(label: "test")
        ) { request, context in
            if context.transport == .udp { try? await Task.sleep(for: .milliseconds(500)) }
            return try? Message(wire: request).makeResponse(rcode: .noError).wireFormat()
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run { continuation.yield($0) } }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return XCTFail("server did not start") }
        let flood = Thread {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let query = (try? Self.query(id: 1)) ?? []
            let until = Date().addingTimeInterval(3)
            while Date() < until {
                _ = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, query, query.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                usleep(2000)
            }
        }
        flood.start()
        try await Task.sleep(for: .milliseconds(200))
        let start = Date()
        let reply = try Message(wire: await DNSClient(timeout: .seconds(5)).exchange(try Self.query(id: 77), host: "127.0.0.1", port: port, transport: .tcp))
        XCTAssertEqual(reply.id, 77)
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.25, "TCP waited for the UDP flood")
    }

    /// Neighbouring addresses of one prefix (127.0.3.1–8, 8 connections each) cannot take the
    /// 64 slots either: the prefix gets 16, and another prefix is still answered.
    func testOnePrefixCannotTakeEveryConnection() async throws {
        try await withServer(limits: DNSServerLimits(maxTCPConnections: 64, maxTCPConnectionsPerSource: 8, maxTCPConnectionsPerPrefix: 16)) { port, _ in
            let held = try Self.slowloris(port: port, sources: (1...8).map { "127.0.3.\($0)" })
            defer { for fd in held { close(fd) } }
            try Self.assertAnswered(port: port, from: "127.0.4.1", id: 11)
            try await Task.sleep(for: .milliseconds(200))
            XCTAssertGreaterThanOrEqual(held.filter { Self.isClosed($0, within: 0) }.count, 48)
        }
    }
}
