import DNSWire
import XCTest

final class CSYNCDataTests: XCTestCase {
    /// RFC 7477 §2.2's example, `66 3 A NS AAAA`, in wire form.
    func testRFC7477Example() throws {
        let record = try Record("example.com. 3600 IN CSYNC 66 3 A NS AAAA")
        XCTAssertEqual(record.rdata, [0, 0, 0, 0x42, 0, 3, 0, 4, 0x60, 0, 0, 8])
        let csync = try CSYNCData(rdata: record.rdata)
        XCTAssertEqual(csync, CSYNCData(soaSerial: 66, flags: 3, types: [.ns, .aaaa, .a]))
        XCTAssertTrue(csync.isImmediate && csync.requiresSOAMinimum)
        XCTAssertEqual(csync.types, [.a, .ns, .aaaa])
        XCTAssertEqual(csync.rdata, record.rdata)
        XCTAssertEqual(csync.description, "66 3 A NS AAAA")
    }

    func testTypesAboveTheFirstWindowAndBadBitmaps() throws {
        let csync = CSYNCData(soaSerial: 1, flags: 0, types: [.ns, RRType(257)])
        XCTAssertEqual(try CSYNCData(rdata: csync.rdata).types, [.ns, RRType(257)])
        XCTAssertThrowsError(try CSYNCData(rdata: [0, 0, 0, 1, 0, 0, 0, 0]))  // window of length 0
        XCTAssertThrowsError(try CSYNCData(rdata: [0, 0, 0, 1, 0, 0, 1, 1, 0x80, 0, 1, 0x40]))  // windows out of order
        XCTAssertThrowsError(try CSYNCData(rdata: [0, 0, 0, 1, 0]))
    }

    func testSOASerialAndSerialArithmetic() throws {
        let soa = try Record("child.parent. 3600 IN SOA ns1.child.parent. hostmaster.child.parent. 2026010101 3600 900 604800 300")
        XCTAssertEqual(try SOAData.serial(rdata: soa.rdata), 2_026_010_101)
        XCTAssertTrue(SOAData.serial(5, isAtLeast: 5))
        XCTAssertTrue(SOAData.serial(6, isAtLeast: 5))
        XCTAssertFalse(SOAData.serial(4, isAtLeast: 5))
        XCTAssertTrue(SOAData.serial(1, isAtLeast: 0xFFFF_FFF0))  // wrapped (RFC 1982 §3.2)
        XCTAssertFalse(SOAData.serial(0xFFFF_FFF0, isAtLeast: 1))
    }
}
