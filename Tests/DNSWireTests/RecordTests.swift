import DNSWire
import XCTest

final class RecordTests: XCTestCase {
    /// Presentation text → wire → presentation for every type delegsync uses; each line is the
    /// canonical text ldns (or our DSYNC codec) prints.
    static let samples = [
        "child.parent.\t3600\tIN\tA\t192.0.2.1",
        "child.parent.\t3600\tIN\tNS\tns1.child.parent.",
        "parent.\t3600\tIN\tSOA\tns.parent. hostmaster.parent. 2026112901 7200 3600 1209600 300",
        "child.parent.\t3600\tIN\tAAAA\t2001:db8::53",
        "child.parent.\t3600\tIN\tDS\t12345 13 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1a",
        "child.parent.\t3600\tIN\tCDS\t12345 13 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1a",
        "child.parent.\t3600\tIN\tKEY\t512 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
        "child.parent.\t3600\tIN\tDNSKEY\t257 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
        "child.parent.\t3600\tIN\tCDNSKEY\t257 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
        "child.parent.\t3600\tIN\tCSYNC\t2026112901 3 A NS AAAA",
        "_dsync.parent.\t3600\tIN\tDSYNC\tANY UPDATE 5302 updater.parent.",
        "_dsync.parent.\t3600\tIN\tDSYNC\tCDS NOTIFY 5359 cds-scanner.example.net.",
        "_dsync.parent.\t3600\tIN\tDSYNC\tCSYNC 7 53 scanner.parent.",
        "child.parent.\t3600\tIN\tTXT\t\"hello world\"",
        "www.child.parent.\t3600\tIN\tCNAME\tchild.parent.",
        "child.parent.\t0\tANY\tNS",
        "child.parent.\t3600\tIN\tTYPE65280\t\\# 3 abcdef",
    ]

    func testPresentationRoundTrips() throws {
        for text in Self.samples {
            let record = try Record(text)
            XCTAssertEqual(record.description, text)
            // Through a message and back.
            let message = Message(answer: [record])
            let decoded = try Message(wire: message.wireFormat())
            XCTAssertEqual(decoded.answer, [record], text)
            XCTAssertEqual(try Record(record.genericPresentation), record, text)
        }
    }

    func testSIGPresentationParses() throws {
        let text =
            ".\t0\tANY\tSIG\tTYPE0 15 0 0 20261129014231 20261129013231 30438 child.parent. 6qSm1i2D0vZ6OUthTR0DYnksDKnog4CIz0TvwTSCZYwH+krOm3Cp06fatDqauIIztCcaGsF5b3iL803YUJjrAw=="
        let record = try Record(text)
        let sig = try SIGData(rdata: record.rdata)
        XCTAssertEqual(sig.keyTag, 30438)
        XCTAssertEqual(sig.algorithm, 15)
        XCTAssertEqual(sig.signature.count, 64)
        XCTAssertEqual(sig.rdata, record.rdata)
        XCTAssertEqual(record.description, text)
    }

    /// RFC 9859 §2.1 byte layout (spec-digest §17.6), both directions, and the generic form LAB.md
    /// shows BIND, Knot and NSD all accept.
    func testDSYNCWire() throws {
        let update = try Record("_dsync.parent. IN DSYNC ANY UPDATE 5302 ddns-receiver.parent.")
        XCTAssertEqual(update.rdata.hexString, "00ff0214b60d64646e732d726563656976657206706172656e7400")
        let notify = try Record("_dsync.parent. IN DSYNC CDS NOTIFY 5359 cds-scanner.example.net.")
        XCTAssertEqual(notify.rdata.hexString, "003b0114ef0b6364732d7363616e6e6572076578616d706c65036e657400")
        let generic = try Record("_dsync.parent. 3600 IN TYPE66 \\# 21 00FF0214B6077570646174657206706172656E7400")
        XCTAssertEqual(try DSYNCData(rdata: generic.rdata), DSYNCData(rrType: .any, scheme: .update, port: 5302, target: try DomainName("updater.parent.")))
        XCTAssertEqual(generic.genericPresentation, "_dsync.parent.\t3600\tIN\tTYPE66\t\\# 21 00FF0214B6077570646174657206706172656E7400")
        // BIND prints the UPDATE scheme as a number; that form parses too.
        XCTAssertEqual(try Record("_dsync.parent. 3600 IN DSYNC ANY 2 5302 updater.parent."), generic)
        // Unknown schemes print as numbers; scheme 0 and port 0 are unusable (RFC 9859 §4.1).
        let odd = try DSYNCData(presentation: ["CSYNC", "9", "0", "x."])
        XCTAssertEqual(odd.description, "CSYNC 9 0 x.")
        XCTAssertFalse(odd.isUsable)
        XCTAssertThrowsError(try DSYNCData(rdata: [0, 0xFF, 2, 0x14]))
        XCTAssertThrowsError(try DSYNCData(rdata: [0, 0xFF, 2, 0x14, 0xB6, 0xC0, 0x00]))
        XCTAssertThrowsError(try DSYNCData(rdata: [0, 0xFF, 2, 0x14, 0xB6, 0, 1]))
    }

    func testBadPresentationIsAnError() {
        XCTAssertThrowsError(try Record("child.parent. 3600 IN A 300.1.1.1"))
        XCTAssertThrowsError(try Record("child.parent. 3600 IN BOGUS x"))
        XCTAssertThrowsError(try Record("child.parent."))
        XCTAssertThrowsError(try Record("child.parent. IN DSYNC ANY UPDATE notaport x."))
        XCTAssertThrowsError(try Record("child.parent. IN TYPE66 \\# 3 00"))
    }

    func testRRsetIgnoresOrderAndDuplicates() throws {
        let a = try Record("child.parent. 3600 IN NS a.example.")
        let b = try Record("child.parent. 300 IN NS b.example.")
        let sets = RRset.group([b, a, a, try Record("ns.child.parent. 3600 IN A 192.0.2.1")])
        XCTAssertEqual(sets.count, 2)
        XCTAssertEqual(sets[0].rdatas.count, 2)
        XCTAssertEqual(sets[0].ttl, 300)
        XCTAssertTrue(sets[0].sameData(as: RRset.group([a, b])[0]))
    }

    func testKeyTag() throws {
        let key = try KEYData(rdata: Record("child.parent. IN KEY 512 3 15 ocKeyHhivrJOnjDi55LDAlABBJlKtTxR9aG9J1T+7Lc=").rdata)
        XCTAssertEqual(key.keyTag, 30438)
    }
}

extension RecordTests {
    func testRelativeNamesUseTheOrigin() throws {
        let origin = try DomainName("child.parent.")
        let record = try Record("@ 3600 IN NS ns1", origin: origin)
        XCTAssertEqual(record.name.description, "child.parent.")
        XCTAssertEqual(record.rdataPresentation, "ns1.child.parent.")
        let glue = try Record("ns1 IN A 192.0.2.1", origin: origin, defaultTTL: 300)
        XCTAssertEqual(glue.description, "ns1.child.parent.\t300\tIN\tA\t192.0.2.1")
    }
}
