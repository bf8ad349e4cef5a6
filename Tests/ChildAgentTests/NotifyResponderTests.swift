import ChildAgent
import DNSWire
import DelegationCore
import XCTest

/// ``NotifyResponder`` byte-in, byte-out: the cases the integration test does not reach over
/// the wire (malformed requests, responses, source addresses written differently).
final class NotifyResponderTests: XCTestCase {
    let responder = NotifyResponder(
        children: try! ChildConfiguration.parse(
            """
            version: 1
            children:
              - name: child.parent.
                primary: { address: 192.0.2.53 }
              - name: v6.parent.
                primary: { address: "2001:db8::53" }
            """
        ).children)

    func notify(_ zone: String, id: UInt16 = 0x1234, questions: Int = 1, qclass: RRClass = .in, edns: Bool = true) throws -> [UInt8] {
        var message = Message()
        message.id = id
        message.opcode = .notify
        message.header.aa = true
        message.question = Array(repeating: Question(name: try DomainName(zone), type: .soa, qclass: qclass), count: questions)
        if edns { message.edns = EDNS() }
        return try message.wireFormat()
    }

    func testAcceptsFromThePrimaryHowEverItsAddressIsWritten() throws {
        for source in ["192.0.2.53", "::ffff:192.0.2.53"] {
            let decision = try XCTUnwrap(responder.respond(to: notify("child.parent."), from: source))
            XCTAssertEqual(decision.rcode, .noError, source)
            XCTAssertEqual(decision.accepted, try DomainName("child.parent."))
            let reply = try Message(wire: decision.reply)
            XCTAssertEqual(reply.id, 0x1234)
            XCTAssertTrue(reply.header.qr && reply.header.aa)
            XCTAssertEqual(reply.opcode, .notify)
        }
        for source in ["2001:db8::53", "2001:DB8:0:0::53", "2001:db8::53%eth0"] {
            XCTAssertEqual(responder.respond(to: try notify("v6.parent."), from: source)?.rcode, .noError, source)
        }
        XCTAssertEqual(responder.respond(to: try notify("v6.parent."), from: "2001:db8::54")?.rcode, .refused)
        XCTAssertEqual(responder.respond(to: try notify("child.parent."), from: "192.0.2.54")?.rcode, .refused)
        XCTAssertEqual(responder.respond(to: try notify("child.parent."), from: "?")?.rcode, .refused)
    }

    func testNoAnswerToResponsesOrFragments() throws {
        var response = try notify("child.parent.")
        response[2] |= 0x80
        XCTAssertNil(responder.respond(to: response, from: "192.0.2.53"))
        XCTAssertNil(responder.respond(to: [0x12, 0x34, 0x20], from: "192.0.2.53"))
    }

    func testMalformedRequestsGetFORMERR() throws {
        // A header that promises a question the bytes do not hold.
        let garbage: [UInt8] = [0xAB, 0xCD, 0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xFF]
        let decision = try XCTUnwrap(responder.respond(to: garbage, from: "192.0.2.53"))
        XCTAssertEqual(decision.rcode, .formErr)
        XCTAssertEqual(Array(decision.reply.prefix(4)), [0xAB, 0xCD, 0xA0, 0x01], "ID, QR and opcode NOTIFY from the request, FORMERR")

        let two = try XCTUnwrap(responder.respond(to: notify("child.parent.", questions: 2), from: "192.0.2.53"))
        XCTAssertEqual(two.rcode, .formErr)
        XCTAssertEqual(try Message(wire: two.reply).edns?.extendedError?.infoCode, DelegationEDE.invalidData)
        XCTAssertNil(two.accepted)
    }

    func testOtherClassIsNotAuthoritative() throws {
        let decision = try XCTUnwrap(responder.respond(to: notify("child.parent.", qclass: .ch), from: "192.0.2.53"))
        XCTAssertEqual(decision.rcode, .notAuth)
        XCTAssertEqual(decision.infoCode, DelegationEDE.notAuthoritative)
    }

    func testSameAddress() {
        XCTAssertTrue(NotifyResponder.sameAddress("::1", "0:0:0:0:0:0:0:1"))
        XCTAssertTrue(NotifyResponder.sameAddress("::ffff:127.0.0.1", "127.0.0.1"))
        XCTAssertFalse(NotifyResponder.sameAddress("127.0.0.1", "127.0.0.9"))
        XCTAssertFalse(NotifyResponder.sameAddress("ns.example", "ns.example"), "names are not addresses")
    }
}
