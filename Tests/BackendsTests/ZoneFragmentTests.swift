import Backends
import DNSWire
import TestSupport
import XCTest

/// The NSD backend's pure parts: the fragment's RFC 2136 semantics and the serial bump.
final class ZoneFragmentTests: XCTestCase {
    func testBatteryUpdateOnFragmentIsIdempotent() throws {
        var fragment = try ZoneFragment(zone: Lab.zone, text: Lab.delegation)
        try fragment.apply(Lab.update)
        let once = fragment.text
        try fragment.apply(Lab.update)
        XCTAssertEqual(fragment.text, once)
        XCTAssertEqual(try ZoneFragment(zone: Lab.zone, text: once), fragment, "the text reads back")
        XCTAssertEqual(Set(fragment.records.filter { $0.type == .ns }.map(Lab.key)), Lab.expectedNS)
        XCTAssertEqual(Set(fragment.records.filter { $0.type == .a || $0.type == .aaaa }.map(Lab.key)), Lab.expectedGlue)
        XCTAssertEqual(Set(fragment.records.filter { $0.type == .ds }.map(Lab.key)), Lab.expectedDS)
    }

    func testDeleteForms() throws {
        var fragment = try ZoneFragment(zone: Lab.zone, text: Lab.delegation)
        var update = Update(zone: Lab.zone)
        update.deleteName(try DomainName("ns1.child.parent."))
        try fragment.apply(update)
        XCTAssertEqual(fragment.records.map(Lab.key), ["child.parent. ns ns1.child.parent."])
        update = Update(zone: Lab.zone)
        update.delete(Lab.record("child.parent. 3600 IN NS ns1.child.parent."))
        try fragment.apply(update)
        XCTAssertEqual(fragment.records, [])
    }

    func testRefusesApexAndOtherZones() throws {
        var fragment = try ZoneFragment(zone: Lab.zone, text: "")
        var apex = Update(zone: Lab.zone)
        apex.add(Lab.record("parent. 3600 IN NS evil.example."))
        XCTAssertThrowsError(try fragment.apply(apex))
        var outside = Update(zone: Lab.zone)
        outside.add(Lab.record("child.example. 3600 IN NS ns.example."))
        XCTAssertThrowsError(try fragment.apply(outside))
        XCTAssertEqual(fragment.records, [])
    }

    func testPrerequisites() throws {
        var fragment = try ZoneFragment(zone: Lab.zone, text: Lab.delegation)
        var update = Lab.update
        update.requireRRsetDoesNotExist(try DomainName("child.parent."), .ns)
        XCTAssertThrowsError(try fragment.apply(update)) { XCTAssertTrue("\($0)".contains("YXRRSET"), "\($0)") }
        update = Lab.update
        update.requireRRset(RRset.group([Lab.record("child.parent. 3600 IN NS ns1.child.parent.")])[0])
        XCTAssertNoThrow(try fragment.apply(update))
    }

    func testSerialBumpKeepsEverythingElse() throws {
        let text = "$TTL 60\n@ IN SOA ns. host. ( ; SOA in a comment\n  2024010101 ; serial\n 1 2 3 4 )\nwww IN A 192.0.2.1 ; 2024010101\n"
        let soa = try ZoneFileSerial(text: text)
        XCTAssertEqual(soa.serial, 2024010101)
        XCTAssertEqual(soa.replacingSerial(with: 7), text.replacingOccurrences(of: "  2024010101 ;", with: "  7 ;"))
        XCTAssertEqual(ZoneFileSerial.next(after: 2024010101, year: 2025, month: 3, day: 9), 2025030900)
        XCTAssertEqual(ZoneFileSerial.next(after: 2025030905, year: 2025, month: 3, day: 9), 2025030906)
        XCTAssertEqual(ZoneFileSerial.next(after: 7, year: 2025, month: 3, day: 9), 2025030900)
        XCTAssertEqual(ZoneFileSerial.next(after: 3_000_000_000, year: 2025, month: 3, day: 9), 3_000_000_001, "a date serial behind in RFC 1982 terms")
        XCTAssertThrowsError(try ZoneFileSerial(text: "www IN A 192.0.2.1\n"))
    }
}
