import Agent
import DNSWire
import DelegationCore
import Logging
import SIG0
import Store
import Transport
import XCTest

// MARK: - UPDATEs a parent's nameserver forwarded (zones[].forwarders, RFC 2136 §6): checked
// as usual, the upload's source marked as the forwarder's, a signature broken by a rewritten
// message ID explained, and extended RCODEs sent as REFUSED (a forwarding BIND drops them).
extension UpdateReceiverTests {
    static let forwarder = "192.0.2.1"
    var forwarded: DNSRequestContext { DNSRequestContext(sourceAddress: Self.forwarder, sourcePort: 40001, transport: .tcp) }

    /// The receiver again, with 192.0.2.1 (and 2001:db8::53, spelled long) listed as forwarders.
    func listForwarder() {
        configuration.zones[0].forwarders = [Self.forwarder, "2001:db8::53"]
        receiver = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: { [now] in now },
            logger: Logger(label: "test"))
    }

    /// Knot gives a forwarded UPDATE a new message ID (LAB.md); SIG(0) covers the header.
    static func rewritingID(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        copy[0] ^= 0x5A
        copy[1] ^= 0xA5
        return copy
    }

    func testAForwardedUpdateIsAuthenticatedAsUsual() async throws {
        listForwarder()
        let reply = try await send(signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))]), context: forwarded)
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertTrue(parent.snapshot(child)?.nameservers.contains(try DomainName("ns.provider2.net.")) == true)
        XCTAssertEqual(try store.audit(child: nil, limit: 1).first?.source, "\(Self.forwarder):40001")
    }

    func testARewrittenIDFromAForwarderIsExplained() async throws {
        listForwarder()
        let rewritten = Self.rewritingID(try signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))]))
        let before = parent.snapshot(child)
        let reply = try await send(rewritten, context: forwarded)
        XCTAssertEqual(reply.rcode, .refused, "REFUSED, which every forwarder passes on")
        XCTAssertEqual(reply.edns?.extendedError?.infoCode, DelegationEDE.prohibited)
        let text = reply.edns?.extendedError?.extraText ?? ""
        XCTAssertTrue(text.contains("as \(Self.forwarder) forwarded it"), text)
        XCTAssertTrue(text.contains("new message ID (Knot DNS does)"), text)
        XCTAssertTrue(text.contains("point DSYNC at delegsync"), text)
        XCTAssertEqual(parent.snapshot(child), before)
        XCTAssertEqual(try store.audit(child: nil, limit: 1).first?.reason, text)
        // The same bytes from anyone else are a bad signature, nothing more.
        let direct = try await send(Self.rewritingID(try signed([.add(try Record("example.example. 60 IN NS ns.provider3.net."))])))
        XCTAssertEqual(direct.rcode, .badSig)
        XCTAssertFalse(direct.edns?.extendedError?.extraText.contains("forwarded") ?? true)
        // A signature out of its time window is no forwarder's doing: BADTIME's text, as REFUSED.
        let late = try await send(signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))], at: now - 4000), context: forwarded)
        XCTAssertEqual(late.rcode, .refused)
        XCTAssertTrue(late.edns?.extendedError?.extraText.contains("expired") == true, late.edns?.extendedError?.extraText ?? "")
    }

    func testARewrittenUploadFromAForwarderIsExplained() async throws {
        listForwarder()
        let newKey = try BINDKeyFile.generate(owner: child)
        let reply = try await send(Self.rewritingID(try upload(newKey, keyState: true)), context: forwarded)
        XCTAssertEqual(reply.rcode, .refused)
        XCTAssertTrue(reply.edns?.extendedError?.extraText.contains("new message ID") == true, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertTrue(try store.bootstraps(child: child, activeOnly: false).isEmpty)
    }

    /// `keys pending` shows where the upload came from: the forwarder, and says so.
    func testAForwardedUploadNamesTheForwarder() async throws {
        listForwarder()
        let newKey = try BINDKeyFile.generate(owner: child)
        let reply = try await send(upload(newKey, keyState: true), context: forwarded)
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        let job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: true).first)
        XCTAssertEqual(job.source, "forwarded by \(Self.forwarder) (TCP)")
        XCTAssertEqual(job.sourceAddress, Self.forwarder)
        XCTAssertTrue(job.explanation(now: now).hasPrefix("example.example. key \(newKey.keyTag), uploaded from forwarded by \(Self.forwarder) (TCP)"))
        // The other spelling of a listed IPv6 address is the same forwarder.
        let second = try BINDKeyFile.generate(owner: child)
        let v6 = DNSRequestContext(sourceAddress: "2001:db8:0:0::53", sourcePort: 1, transport: .tcp)
        _ = try await send(upload(second, keyState: true), context: v6)
        XCTAssertTrue(try store.bootstraps(child: child, activeOnly: true).contains { $0.source == "forwarded by 2001:db8:0:0::53 (TCP)" })
    }

    /// BIND answers the child with a SERVFAIL of its own for BADKEY (LAB.md): through a listed
    /// forwarder BADKEY goes as REFUSED, with OPT, the EDE and a note; directly it stays BADKEY.
    func testExtendedRCodesGoToAForwarderAsREFUSED() async throws {
        listForwarder()
        let strangerKey = try BINDKeyFile.generate(owner: child)
        let stranger = try SIG0Signer(keyFile: strangerKey)
        // The child asks for the key's state in its UPDATE (as delegsync's child agent does).
        let asking = EDNS(options: [KeyStateOption(keyID: strangerKey.keyTag, state: .inquiry).option()])
        let message = Update(zone: zoneName, operations: [.add(try Record("example.example. 60 IN NS ns.x.net."))]).message(id: 3, edns: asking)
        let bytes = try stranger.sign(message.wireFormat(), now: UInt32(now))
        let reply = try await send(bytes, context: forwarded)
        XCTAssertEqual(reply.rcode, .refused)
        XCTAssertEqual(reply.edns?.keyState()?.state, .unknown, "KeyState says what BADKEY would have said")
        let text = reply.edns?.extendedError?.extraText ?? ""
        XCTAssertTrue(text.contains("no trusted key"), text)
        XCTAssertTrue(text.contains("sent as REFUSED: it came through \(Self.forwarder)"), text)
        XCTAssertEqual(try store.audit(child: nil, limit: 1).first?.decision, "BADKEY", "the audit keeps the decision")
        let direct = try await send(stranger.sign(update([.add(try Record("example.example. 60 IN NS ns.y.net."))]), now: UInt32(now)))
        XCTAssertEqual(direct.rcode, .badKey)
    }
}
