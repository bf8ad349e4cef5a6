import DNSWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import TestSupport
import Transport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// A `DNSServer` with a `PrimaryRelay` (a primary's front): UPDATEs go to the handler, every
/// other message to the primary byte for byte, and what the primary sends comes back byte for
/// byte (several messages of a transfer too); a primary that is down gives no answer.
final class PrimaryRelayTests: XCTestCase {
    /// Starts a front relaying to 127.0.0.1:`primaryPort` whose handler answers REFUSED and
    /// counts the messages it gets.
    func withFront(
        primaryPort: UInt16, limits: DNSServerLimits = DNSServerLimits(), _ body: (Int, NIOLockedValueBox<[[UInt8]]>) async throws -> Void
    ) async throws {
        let handled = NIOLockedValueBox<[[UInt8]]>([])
        let server = DNSServer(
            host: "127.0.0.1", port: 0, limits: limits, relay: PrimaryRelay(host: "127.0.0.1", port: Int(primaryPort), timeout: .seconds(2)),
            logger: Logger(label: "test")
        ) { request, _ in
            handled.withLockedValue { $0.append(request) }
            guard let message = try? Message(wire: request) else { return nil }
            return try? message.makeResponse(rcode: .refused).wireFormat()
        }
        try await DNSServerTests.running(server) { port in try await body(port, handled) }
    }

    static func query(_ type: RRType, id: UInt16) throws -> [UInt8] {
        var message = Message(question: [Question(name: try DomainName("parent."), type: type)])
        message.id = id
        return try message.wireFormat()
    }

    static func update(id: UInt16) throws -> [UInt8] {
        try Update(zone: DomainName("parent.")).message(id: id).wireFormat()
    }

    /// Answer `number` of a transfer: the request's header as a response, then octets no parser
    /// would accept (the relay must not parse or re-encode).
    static func answer(to request: [UInt8], number: UInt8) -> [UInt8] {
        var message = Array(request.prefix(12))
        message[2] = 0x80
        message[3] = 0
        return message + [0xFF, number, 0x00, 0xC0, 0xC0, number]
    }

    /// An AXFR of three messages: the primary gets the request as sent, the secondary every
    /// message as the primary sent it, and the handler nothing.
    func testTransferIsRelayedByteForByte() async throws {
        let primary = try CaptureListener(tcp: true) { request in (1...3).map { Self.answer(to: request, number: $0) } }
        let request = try Self.query(.axfr, id: 4711)
        try await withFront(primaryPort: primary.port) { port, handled in
            let transfer = Task {
                try await DNSClient(timeout: .seconds(5)).transfer(request, host: "127.0.0.1", port: port) { _, index in index == 2 }
            }
            let received = try primary.receiveOne()
            XCTAssertEqual(received, request)
            let messages = try await transfer.value
            XCTAssertEqual(messages, (1...3).map { Self.answer(to: request, number: $0) })
            XCTAssertTrue(handled.withLockedValue { $0.isEmpty })
        }
    }

    /// One connection carrying an UPDATE and then a SOA query: the UPDATE is answered by the
    /// handler, the query by the primary; when the primary closes, so does the front.
    func testUpdatesAreAnsweredHereAndTheRestByThePrimary() async throws {
        let primary = try CaptureListener(tcp: true)
        let update = try Self.update(id: 7)
        let query = try Self.query(.soa, id: 8)
        try await withFront(primaryPort: primary.port) { port, handled in
            let client = Task.detached { () throws -> ([[UInt8]], Bool) in
                let fd = try DNSServerTests.connect(port)
                defer { close(fd) }
                let stream = TCPFraming.frame(update) + TCPFraming.frame(query)
                XCTAssertEqual(send(fd, stream, stream.count, 0), stream.count)
                var replies: [[UInt8]] = []
                for _ in 0..<2 {
                    let length = try DNSServerTests.read(fd, 2)
                    replies.append(try DNSServerTests.read(fd, Int(length[0]) << 8 | Int(length[1])))
                }
                var octet: UInt8 = 0
                let closed = recv(fd, &octet, 1, 0) == 0
                return (replies, closed)
            }
            let received = try primary.receiveOne()
            XCTAssertEqual(received, query, "only the query reaches the primary")
            let (replies, closed) = try await client.value
            XCTAssertEqual(try Message(wire: replies[0]).rcode, .refused, "the handler's answer to the UPDATE")
            XCTAssertEqual(replies[0].prefix(2), [0, 7])
            XCTAssertEqual(replies[1], Array(query.prefix(2)) + [0x80 | (query[2] & 0x78), 0, 0, 0, 0, 0, 0, 0, 0, 0], "the primary's answer, as sent")
            XCTAssertTrue(closed, "the front closes when the primary does")
            XCTAssertEqual(handled.withLockedValue { $0 }, [update])
        }
    }

    /// Over UDP: a query goes to the primary and its datagram comes back; an UPDATE goes to the
    /// handler.
    func testUDP() async throws {
        let primary = try CaptureListener(tcp: false)
        let query = try Self.query(.soa, id: 99)
        try await withFront(primaryPort: primary.port) { port, handled in
            let exchange = Task { try await DNSClient(timeout: .seconds(5)).exchange(query, host: "127.0.0.1", port: port, transport: .udp) }
            let received = try primary.receiveOne()
            XCTAssertEqual(received, query)
            let answer = try await exchange.value
            XCTAssertEqual(answer, Array(query.prefix(2)) + [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            let update = try Self.update(id: 100)
            let reply = try await DNSClient(timeout: .seconds(5)).exchange(update, host: "127.0.0.1", port: port, transport: .udp)
            XCTAssertEqual(try Message(wire: reply).rcode, .refused)
            XCTAssertEqual(handled.withLockedValue { $0 }, [update])
        }
    }

    /// Nothing listens where the primary should be: over TCP the secondary's connection is
    /// closed without an answer, over UDP no answer comes; the handler is not asked.
    func testAPrimaryThatIsDownGivesNoAnswer() async throws {
        var gone: CaptureListener? = try CaptureListener(tcp: true)
        let port = gone!.port
        gone = nil
        try await withFront(primaryPort: port) { front, handled in
            let query = try Self.query(.soa, id: 5)
            do {
                _ = try await DNSClient(timeout: .seconds(5)).exchange(query, host: "127.0.0.1", port: front, transport: .tcp)
                XCTFail("an answer came from a primary that is down")
            } catch let error as DNSClientError {
                XCTAssertEqual(error.code, .connection, "closed, not left to time out: \(error)")
            }
            do {
                _ = try await DNSClient(timeout: .seconds(3)).exchange(query, host: "127.0.0.1", port: front, transport: .udp)
                XCTFail("an answer came from a primary that is down")
            } catch let error as DNSClientError {
                XCTAssertEqual(error.code, .timeout, "\(error)")
            }
            XCTAssertTrue(handled.withLockedValue { $0.isEmpty })
        }
    }

    func testOnlyUpdatesStayAtTheFront() throws {
        XCTAssertFalse(PrimaryRelay.passes(try Self.update(id: 1)))
        XCTAssertTrue(PrimaryRelay.passes(try Self.query(.soa, id: 1)))
        var notify = try Self.query(.soa, id: 1)
        notify[2] = 4 << 3
        XCTAssertTrue(PrimaryRelay.passes(notify), "NOTIFY (opcode 4) goes to the primary")
        XCTAssertTrue(PrimaryRelay.passes([0, 1]), "too short to have an opcode: the primary's business")
    }
}
