import Agent
import DNSWire
import DelegationCore
import Logging
import Store
import Transport
import XCTest

/// The NOTIFY stage (RFC 9859 §4) through the whole receiver: what is answered, what is
/// discarded, what is rate limited, and what gets a scan scheduled.
final class NotifyReceiverTests: XCTestCase {
    let now: Int64 = 1_800_000_000
    let child = try! DomainName("child.parent.")
    let tcp = DNSRequestContext(sourceAddress: "192.0.2.7", sourcePort: 40000, transport: .tcp)
    var store: SQLiteStore!
    var queue: ScanQueue!

    override func setUpWithError() throws {
        store = try SQLiteStore.inMemory()
        queue = ScanQueue()
    }

    func receiver(scanner: String = "scanner: { enabled: true }", limits: String = "") throws -> UpdateReceiver {
        let configuration = try AgentConfiguration.parse(
            """
            version: 1
            \(limits)
            zones:
              - name: parent.
                primary: { address: 127.0.0.1, port: 53 }
                backend: { type: script, output: "-" }
                \(scanner)
              - name: off.example.
                primary: { address: 127.0.0.1, port: 53 }
                backend: { type: script, output: "-" }
            """)
        let parent = FakeParent([])
        return UpdateReceiver(
            configuration: configuration, store: store, backends: [:], reader: parent, contentProbe: ChildContentProbe(exchange: { _, _, _, _ in [] }),
            clock: { [now] in now }, logger: Logger(label: "test"), scans: queue)
    }

    static func notify(_ questions: [Question], id: UInt16 = 7, edns: Bool = true) throws -> [UInt8] {
        var header = Header()
        header.id = id
        header.opcode = .notify
        header.aa = true
        return try Message(header: header, question: questions, edns: edns ? EDNS() : nil).wireFormat()
    }

    func send(_ bytes: [UInt8], to receiver: UpdateReceiver, from context: DNSRequestContext? = nil) async throws -> Message? {
        guard let reply = await receiver.handle(bytes, context: context ?? tcp) else { return nil }
        return try Message(wire: reply)
    }

    /// The reply, which must come.
    func answer(_ bytes: [UInt8], to receiver: UpdateReceiver, from context: DNSRequestContext? = nil) async throws -> Message {
        let reply = try await send(bytes, to: receiver, from: context)
        return try XCTUnwrap(reply)
    }

    func testNotifyCDSSchedulesAScan() async throws {
        let reply = try await answer(Self.notify([Question(name: child, type: .cds)]), to: receiver())
        XCTAssertEqual(reply.rcode, .noError)
        XCTAssertEqual(reply.opcode, .notify)
        XCTAssertEqual(reply.id, 7)
        XCTAssertEqual(reply.question, [Question(name: child, type: .cds)])
        XCTAssertEqual(queue.takeDue(now: now + 4), [], "debounced: not due at once")
        let due = queue.takeDue(now: now + 5)
        XCTAssertEqual(due.map(\.entry.child), [child])
        XCTAssertEqual(due.first?.trigger, "NOTIFY(CDS) from 192.0.2.7:40000")
        XCTAssertTrue(try store.audit(child: child, limit: 1).first?.reason.contains("scan of child.parent. scheduled") == true)
    }

    /// NOTIFY(CSYNC) right after NOTIFY(CDS) joins the waiting scan; CDNSKEY is taken too.
    func testSecondNotifyJoinsTheWaitingScan() async throws {
        let receiver = try receiver()
        for type in [RRType.cds, .csync, .cdnskey] {
            let reply = try await answer(Self.notify([Question(name: child, type: type)]), to: receiver)
            XCTAssertEqual(reply.rcode, .noError, "\(type)")
        }
        XCTAssertEqual(queue.count, 1)
    }

    /// RFC 9859 §4.3: more than one question, no question, or bytes that do not parse — no reply.
    func testMalformedNotifiesAreDiscarded() async throws {
        let receiver = try receiver()
        let two = try Self.notify([Question(name: child, type: .cds), Question(name: try DomainName("other.parent."), type: .cds)])
        let reply = try await send(two, to: receiver)
        XCTAssertNil(reply)
        let empty = try await send(Self.notify([]), to: receiver)
        XCTAssertNil(empty)
        var truncated = try Self.notify([Question(name: child, type: .cds)])
        truncated.removeLast(3)
        let broken = await receiver.handle(truncated, context: tcp)
        XCTAssertNil(broken)
        XCTAssertEqual(queue.count, 0)
    }

    func testRefusals() async throws {
        let receiver = try receiver()
        let cases: [(Question, RCode, UInt16, String)] = [
            (Question(name: child, type: .soa), .refused, DelegationEDE.notSupported, "NOTIFY(SOA) is not served here"),
            (Question(name: try DomainName("child.elsewhere."), type: .cds), .notAuth, DelegationEDE.notAuthoritative, "not a child of a zone"),
            (Question(name: try DomainName("parent."), type: .cds), .notAuth, DelegationEDE.notAuthoritative, "not a child of a zone"),
            (Question(name: try DomainName("a.off.example."), type: .cds), .refused, DelegationEDE.notSupported, "its scanner is off"),
        ]
        for (question, rcode, code, text) in cases {
            let reply = try await answer(Self.notify([question]), to: receiver)
            XCTAssertEqual(reply.rcode, rcode, "\(question)")
            XCTAssertEqual(reply.edns?.extendedError?.infoCode, code, "\(question)")
            XCTAssertTrue(reply.edns?.extendedError?.extraText.contains(text) == true, "\(String(describing: reply.edns?.extendedError))")
        }
        XCTAssertEqual(queue.count, 0)
    }

    /// RFC 9859 §5: per source (another source still gets through) and per child.
    func testRateLimits() async throws {
        let receiver = try receiver(limits: "limits: { notifies-per-source-per-hour: 2, notifies-per-child-per-hour: 1 }")
        let children = try ["a", "b", "c"].map { try DomainName("\($0).parent.") }
        for (index, name) in children.enumerated() {
            let reply = try await answer(Self.notify([Question(name: name, type: .cds)]), to: receiver)
            if index < 2 {
                XCTAssertEqual(reply.rcode, .noError)
            } else {
                XCTAssertEqual(reply.rcode, .refused)
                XCTAssertEqual(reply.edns?.extendedError?.infoCode, DelegationEDE.blocked)
                XCTAssertTrue(reply.edns?.extendedError?.extraText.contains("from 192.0.2.7") == true, "\(String(describing: reply.edns?.extendedError))")
            }
        }
        let elsewhere = DNSRequestContext(sourceAddress: "198.51.100.9", sourcePort: 5300, transport: .tcp)
        let other = try await answer(Self.notify([Question(name: children[2], type: .cds)]), to: receiver, from: elsewhere)
        XCTAssertEqual(other.rcode, .noError)
        // a.parent.'s scan ran; its hour's budget is spent.
        _ = queue.takeDue(now: now + 60)
        let again = try await answer(Self.notify([Question(name: children[0], type: .cds)]), to: receiver, from: elsewhere)
        XCTAssertEqual(again.rcode, .refused)
        XCTAssertTrue(again.edns?.extendedError?.extraText.contains("for a.parent.") == true, "\(String(describing: again.edns?.extendedError))")
    }

    /// Over UDP the reply is never larger than the NOTIFY (no amplification).
    func testUDPRepliesAreBounded() async throws {
        let udp = DNSRequestContext(sourceAddress: "192.0.2.8", sourcePort: 5300, transport: .udp)
        let request = try Self.notify([Question(name: try DomainName("child.elsewhere."), type: .cds)], edns: true)
        let reply = try await receiver().handle(request, context: udp)
        XCTAssertLessThanOrEqual(try XCTUnwrap(reply).count, request.count)
    }
}
