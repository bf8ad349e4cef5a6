import Agent
import DNSWire
import Logging
import SIG0
import XCTest

/// Inputs that the receiver fuzz target (`Fuzz/ReceiverFuzz`, docs/fuzzing.md) found, minimized,
/// kept as ordinary tests.
extension UpdateReceiverTests {
    /// ReceiverFuzz, first run: a request that does not parse got an unsigned FORMERR although
    /// the receiver has its own key; every other reply was signed, so the child could not tell
    /// this answer from a forged one and reported it as unauthenticated. The minimized input is a
    /// bare header whose counts promise more records than the 12 octets hold.
    func testFormErrToUnparsedBytesIsSigned() async throws {
        let receiverKey = try BINDKeyFile.generate(owner: DomainName("updater.parent."))
        let signing = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: { [now] in now },
            logger: Logger(label: "test"),
            identity: try SIG0Signer(keyFile: receiverKey))
        let request: [UInt8] = [0xdd, 0x8f, 0x72, 0x00, 0x00, 0x00, 0x60, 0x00, 0x6c, 0x36, 0x0b, 0xbc]
        let handled = await signing.handle(request, context: tcp)
        let reply = try XCTUnwrap(handled)
        let message = try Message(wire: reply)
        XCTAssertEqual(message.rcode, .formErr)
        XCTAssertEqual(message.id, 0xdd8f)
        XCTAssertTrue(message.header.qr)
        let verified = try SIG0Verifier().verify(
            message: reply, key: SIG0PublicKey(receiverKey.keyData), expectedSigner: DomainName("updater.parent."), now: UInt32(now), request: request)
        XCTAssertEqual(verified.keyTag, receiverKey.keyTag)
    }
}
