import DNSWire
import SIG0
import XCTest

@testable import ChildAgent

/// What the child believes of a reply when it knows the receiver's key: a reply signed by it;
/// never an unsigned one. An unsigned SERVFAIL — what a nameserver forwarding the UPDATE sends
/// when the agent failed or did not answer — counts as no answer (tried again later), any other
/// unsigned reply as unauthenticated.
final class ParentChannelTests: XCTestCase {
    let now: UInt32 = 1_800_000_000
    let endpoint = NameserverAddress("192.0.2.53")

    func channel() throws -> (ParentChannel, SIG0Signer) {
        let receiver = try BINDKeyFile.generate(owner: DomainName("agent.parent."))
        return (try ParentChannel(endpoints: [endpoint], receiverKey: receiver), try SIG0Signer(keyFile: receiver))
    }

    func request() throws -> [UInt8] {
        try Update(zone: DomainName("parent.")).message(id: 4711, edns: EDNS()).wireFormat()
    }

    func response(_ rcode: RCode, to request: [UInt8]) throws -> [UInt8] {
        try Message(wire: request).makeResponse(rcode: rcode).wireFormat()
    }

    func testASignedReplyIsBelieved() throws {
        let (channel, signer) = try channel()
        let request = try request()
        let signed = try signer.sign(response(.refused, to: request), inception: now - 300, expiration: now + 300, request: request)
        let reply = try channel.reply(signed, to: request, from: endpoint, now: now)
        XCTAssertEqual(reply.rcode, .refused)
        XCTAssertTrue(reply.authenticated)
    }

    func testAnUnsignedServFailIsNoAnswer() throws {
        let (channel, _) = try channel()
        let request = try request()
        XCTAssertThrowsError(try channel.reply(response(.servFail, to: request), to: request, from: endpoint, now: now)) { error in
            XCTAssertEqual((error as? ChildAgentError)?.code, .unreachable)
            XCTAssertTrue("\(error)".contains("SERVFAIL without the receiver's signature"), "\(error)")
        }
    }

    func testOtherUnsignedRepliesAreNotBelieved() throws {
        let (channel, signer) = try channel()
        let request = try request()
        for rcode in [RCode.noError, .refused] {
            XCTAssertThrowsError(try channel.reply(response(rcode, to: request), to: request, from: endpoint, now: now)) { error in
                XCTAssertEqual((error as? ChildAgentError)?.code, .unauthenticated)
            }
        }
        // A SERVFAIL with a signature that does not verify is a forgery, not a forwarder's answer.
        // What an unverified reply said is shown, marked as such.
        var explained = try Message(wire: request).makeResponse(rcode: .refused)
        explained.edns = EDNS(options: [ExtendedDNSError(infoCode: 18, extraText: "a new message ID breaks the signature").option])
        XCTAssertThrowsError(try channel.reply(explained.wireFormat(), to: request, from: endpoint, now: now)) { error in
            XCTAssertTrue("\(error)".hasSuffix("not believed (unverified, it said: REFUSED (EDE 18: a new message ID breaks the signature))"), "\(error)")
        }
        var forged = try signer.sign(response(.servFail, to: request), inception: now - 300, expiration: now + 300, request: request)
        forged[forged.count - 1] ^= 1
        XCTAssertThrowsError(try channel.reply(forged, to: request, from: endpoint, now: now)) { error in
            XCTAssertEqual((error as? ChildAgentError)?.code, .unauthenticated)
        }
    }
}
