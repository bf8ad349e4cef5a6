import DNSWire
import XCTest

final class MessageTests: XCTestCase {
    /// spec-digest §17.0: BIND nsupdate 9.18.49, names compressed in the body.
    static let nsupdateCapture = [UInt8](
        hex: """
            60ac2800000100000004000106706172656e740000060001056368696c64c00c
            000200ff000000000000c0180002000100000e100006036e7331c018c0180002
            000100000e100015026e730870726f7669646572076578616d706c6500c03600
            01000100000e100004c000020100001800ff00000000006000000f0000000000
            6b0b83076b0b80af76e6056368696c6406706172656e7400eaa4a6d62d83d2f6
            7a394b614d1d0362792c0ca9e8838088cf44efc13482658c07fa4ace9b70a9d3
            a7dab43a9ab88233b4271a1ac1796f788bf34dd85098eb03
            """)!

    /// spec-digest §17.1 Vector 3: KeyState inquiry with OPT before the SIG(0).
    static let keyStateInquiry = [UInt8](
        hex: """
            beef0000000100000000000205636869 6c6406706172656e7400001900010000
            2904d000000000000 8fdea000486d20200 00001800ff0000000000600000 0f000000
            0000 6955ba2c6955b7d486d2056368696c6406706172656e7400ef0328ad38228bd1
            cd3ccf2ef4584949b5b467d181e4b07d9d699260d6fcb2c8ee93ce8687ef5decdc78
            b58d79542fcc8f6c5507f355d074bdb8fd8e9fad8508
            """)!

    func testDecodeReencodeIsByteIdentical() throws {
        for bytes in [Self.nsupdateCapture, Self.keyStateInquiry] {
            let message = try Message(wire: bytes)
            XCTAssertEqual(try message.wireFormat(), bytes)
        }
    }

    func testUpdateSectionsDecode() throws {
        let message = try Message(wire: Self.nsupdateCapture)
        XCTAssertEqual(message.opcode, .update)
        XCTAssertEqual(message.zone, [Question(name: try DomainName("parent."), type: .soa)])
        let update = try Update(message: message)
        XCTAssertEqual(
            update.operations,
            [
                .deleteRRset(try DomainName("child.parent."), .ns),
                .add(try Record("child.parent. 3600 IN NS ns1.child.parent.")),
                .add(try Record("child.parent. 3600 IN NS ns.provider.example.")),
                .add(try Record("ns1.child.parent. 3600 IN A 192.0.2.1")),
            ])
        XCTAssertEqual(message.additional.last?.type, .sig)
        let text = message.description
        XCTAssertTrue(text.contains("opcode: UPDATE, status: NOERROR, id: 24748"), text)
        XCTAssertTrue(text.contains(";; UPDATE SECTION:\nchild.parent.\t0\tANY\tNS\n"), text)
        XCTAssertTrue(text.contains(".\t0\tANY\tSIG\t"), text)
    }

    func testKeyStateOptionDecodes() throws {
        let message = try Message(wire: Self.keyStateInquiry)
        XCTAssertEqual(message.edns?.udpPayloadSize, 1232)
        XCTAssertEqual(message.edns?.keyState(), KeyStateOption(keyID: 34514, state: .inquiry))
        XCTAssertTrue(message.description.contains("; KEYSTATE: key 34514 inquiry (2)"), message.description)
        XCTAssertEqual(message.additional.map(\.type), [.sig])
    }

    /// BADKEY (17) travels as header RCODE 1 plus extended bits 1 in OPT (RFC 6891 §6.1.3;
    /// spec-digest §17.7).
    func testExtendedRCodeAndEDE() throws {
        var request = Message(question: [Question(name: try DomainName("parent."), type: .soa)], edns: EDNS())
        request.opcode = .update
        request.id = 0x1234
        var response = request.makeResponse(rcode: .badKey)
        response.edns?.options = [
            ExtendedDNSError(infoCode: 49152, extraText: "key 1852 for child.parent. is not known").option,
            KeyStateOption(keyID: 1852, state: .unknown, extraText: "send a bootstrap").option(),
        ]
        let bytes = try response.wireFormat()
        XCTAssertEqual(bytes[3] & 0x0F, 1)
        let decoded = try Message(wire: bytes)
        XCTAssertEqual(decoded.rcode, .badKey)
        XCTAssertTrue(decoded.header.qr)
        XCTAssertEqual(decoded.id, 0x1234)
        XCTAssertEqual(decoded.question, request.question)
        XCTAssertEqual(decoded.edns?.extendedError?.infoCode, 49152)
        XCTAssertEqual(decoded.edns?.extendedError?.extraText, "key 1852 for child.parent. is not known")
        XCTAssertEqual(decoded.edns?.keyState()?.state, .unknown)
        XCTAssertEqual(decoded, response)
        // Without OPT an extended RCODE cannot be encoded.
        var bare = response
        bare.edns = nil
        XCTAssertThrowsError(try bare.wireFormat())
    }

    func testEDEWireFormat() throws {
        let option = ExtendedDNSError(infoCode: 18, extraText: "no").option
        XCTAssertEqual(option.code, 15)
        XCTAssertEqual(option.data, [0, 18, 0x6E, 0x6F])
        XCTAssertThrowsError(try ExtendedDNSError(option: EDNSOption(code: 15, data: [0])))
        XCTAssertEqual(try ExtendedDNSError(option: EDNSOption(code: 15, data: [0, 6, 0x61, 0])).extraText, "a")
        let keyState = KeyStateOption(keyID: 0x86D2, state: .inquiry)
        XCTAssertEqual(keyState.option().data, [0x86, 0xD2, 2, 0])
        XCTAssertEqual(keyState.option(code: 65003).code, 65003)
        XCTAssertThrowsError(try KeyStateOption(option: EDNSOption(code: 65002, data: [1, 2, 3])))
    }

    func testTwoOPTRecordsAreRefused() throws {
        var bytes = try Message(edns: EDNS()).wireFormat()
        bytes += [0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0]
        bytes[11] = 2
        XCTAssertThrowsError(try Message(wire: bytes))
    }

    /// The RFC 2136 builder makes the section records the RFC prescribes, and reading them back
    /// gives the same prerequisites and operations.
    func testUpdateBuilderRoundTrip() throws {
        var update = Update(zone: try DomainName("parent."))
        let child = try DomainName("child.parent.")
        update.requireRRsetExists(child, .ns)
        update.requireRRset(RRset.group([try Record("child.parent. 0 IN NS ns1.child.parent.")])[0])
        update.requireRRsetDoesNotExist(child, .ds)
        update.requireNameInUse(child)
        update.requireNameNotInUse(try DomainName("new.parent."))
        update.add(try Record("child.parent. 3600 IN DS 12345 15 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1a"))
        update.deleteRRset(child, .ns)
        update.deleteName(try DomainName("old.child.parent."))
        update.delete(try Record("ns1.child.parent. 3600 IN A 192.0.2.1"))
        let message = update.message(id: 7)
        XCTAssertEqual(
            message.prerequisites.map { "\($0.rrClass) \($0.type) \($0.ttl) \($0.rdata.count)" },
            ["ANY NS 0 0", "IN NS 0 18", "NONE DS 0 0", "ANY ANY 0 0", "NONE ANY 0 0"])
        XCTAssertEqual(
            message.updates.map { "\($0.rrClass) \($0.type) \($0.ttl)" },
            ["IN DS 3600", "ANY NS 0", "ANY ANY 0", "NONE A 0"])
        let decoded = try Update(message: Message(wire: message.wireFormat()))
        XCTAssertEqual(decoded, update)
    }

    func testNSUpdateText() throws {
        var update = Update(zone: try DomainName("parent."))
        update.requireNameInUse(try DomainName("child.parent."))
        update.deleteRRset(try DomainName("child.parent."), .ns)
        update.add(try Record("child.parent. 3600 IN NS ns1.child.parent."))
        update.add(try Record("_dsync.parent. 3600 IN DSYNC ANY UPDATE 5302 updater.parent."))
        update.delete(try Record("ns0.child.parent. 3600 IN A 192.0.2.1"))
        update.deleteName(try DomainName("x.child.parent."))
        XCTAssertEqual(
            NSUpdateScript(update: update, server: ("127.0.0.1", 5353)).text,
            """
            server 127.0.0.1 5353
            zone parent.
            prereq yxdomain child.parent.
            update delete child.parent. IN NS
            update add child.parent. 3600 IN NS ns1.child.parent.
            update add _dsync.parent. 3600 IN TYPE66 \\# 21 00FF0214B6077570646174657206706172656E7400
            update delete ns0.child.parent. IN A 192.0.2.1
            update delete x.child.parent.
            send

            """)
    }

    func testMalformedUpdateOperationsAreNamed() throws {
        XCTAssertThrowsError(try Update.Operation(record: Record(name: .root, type: .ns, rrClass: .any, ttl: 5, rdata: [])))
        XCTAssertThrowsError(try Update.Operation(record: Record(name: .root, type: .any, rrClass: .none, ttl: 0, rdata: [])))
        XCTAssertThrowsError(try Update.Operation(record: Record(name: .root, type: .ns, rrClass: .ch, ttl: 0, rdata: [])))
        XCTAssertThrowsError(try Update.Prerequisite(record: Record(name: .root, type: .ns, rrClass: .any, ttl: 1, rdata: [])))
        var notUpdate = Message(question: [Question(name: .root, type: .soa)])
        XCTAssertThrowsError(try Update(message: notUpdate))
        notUpdate.opcode = .update
        notUpdate.question = []
        XCTAssertThrowsError(try Update(message: notUpdate))
    }
}
