import DNSWire
import DelegationCore
import SIG0
import TestSupport
import XCTest

/// The scanner on CSYNC (RFC 7477): flags, types, serials, consistency, validation, and the NS
/// and glue it copies.
final class DelegationScanCSYNCTests: XCTestCase {
    typealias S = ScanScenario
    let ksk = ZoneSigner.key(S.child)
    let zsk = ZoneSigner.key(S.child, flags: 256)

    /// The child moves from ns1+ns2 to ns1+ns3 and says so with `CSYNC serial flags types`.
    func movedZone(flags: UInt16 = 1, types: String = "A NS AAAA", csyncSerial: UInt32 = 2_026_010_101) -> S.Zone {
        var zone = S.Zone(ksks: [ksk], zsk: zsk)
        zone.nameservers = [S.ns1, S.ns3]
        zone.addresses = [S.ns1: ["192.0.2.1", "2001:db8::1"], S.ns3: ["192.0.2.3"]]
        zone.csync = [S.record("child.parent. 3600 IN CSYNC \(csyncSerial) \(flags) \(types)")]
        return zone
    }

    func current() -> DelegationSnapshot { S.delegation(ds: [ksk]) }

    func assertRefused(_ outcome: ScanOutcome, rule: String, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        guard case .refused(let violation) = outcome.nameservers else { return XCTFail("expected a refusal, got \(outcome)", file: file, line: line) }
        XCTAssertEqual(violation.rule, rule, violation.text, file: file, line: line)
        for word in words { XCTAssertTrue(violation.text.contains(word), "\(word) not in: \(violation.text)", file: file, line: line) }
        XCTAssertEqual(outcome.operations, [], file: file, line: line)
    }

    func testImmediateCSYNCCopiesNSAndGlue() {
        let outcome = S.judge(S.scan(current()), S.servers(movedZone()))
        guard case .change(let text) = outcome.nameservers else { return XCTFail("\(outcome)") }
        XCTAssertTrue(text.contains("RFC 7477") && text.contains("ns3.child.parent."), text)
        XCTAssertEqual(outcome.desired?.nameservers, [S.ns1, S.ns3])
        XCTAssertEqual(outcome.desired?.glue[S.ns3], [S.glue(S.ns3, "192.0.2.3")])
        XCTAssertEqual(outcome.desired?.glue[S.ns1], [S.glue(S.ns1, "192.0.2.1"), S.glue(S.ns1, "2001:db8::1")])
        XCTAssertNil(outcome.desired?.glue[S.ns2])
        XCTAssertEqual(outcome.desired?.ds, [ksk.ds().rdata])
        XCTAssertTrue(outcome.operations.contains(.add(Record(name: S.child, type: .ns, ttl: 3600, rdata: S.ns3.wire))))
        XCTAssertTrue(outcome.operations.contains(.delete(Record(name: S.child, type: .ns, ttl: 0, rdata: S.ns2.wire))))
        XCTAssertTrue(outcome.operations.allSatisfy { $0.type != .ds })
    }

    /// Only NS in the bit map: a new in-bailiwick NS gets no glue copied, so the change stops.
    func testNSOnlyCannotLeaveANewNameserverWithoutGlue() {
        var zone = movedZone()
        zone.csync = [S.record("child.parent. 3600 IN CSYNC 2026010101 1 NS")]
        assertRefused(S.judge(S.scan(current()), S.servers(zone)), rule: "csync-missing-glue", mentioning: ["ns3.child.parent.", "RFC 7477 §3.2.2"])
    }

    /// Only NS in the bit map: the addresses the child serves are not copied.
    func testNSOnlyLeavesTheParentsGlueAlone() {
        var zone = movedZone()
        zone.nameservers = [S.ns1, S.ns2]
        zone.addresses = [S.ns1: ["192.0.2.9"], S.ns2: ["192.0.2.2"]]
        zone.csync = [S.record("child.parent. 3600 IN CSYNC 2026010101 1 NS")]
        let outcome = S.judge(S.scan(current()), S.servers(zone))
        XCTAssertFalse(outcome.nameservers.isChange, "\(outcome)")
        XCTAssertEqual(outcome.operations, [])
        zone.csync = [S.record("child.parent. 3600 IN CSYNC 2026010101 1 NS A")]
        let copied = S.judge(S.scan(current()), S.servers(zone))
        XCTAssertEqual(copied.desired?.glue[S.ns1], [S.glue(S.ns1, "192.0.2.9")], "\(copied)")
    }

    func testWithoutImmediateNothingChanges() {
        assertRefused(S.judge(S.scan(current()), S.servers(movedZone(flags: 0))), rule: "csync-not-immediate", mentioning: ["RFC 7477 §2.1.1.1", "set flag 1"])
    }

    func testSOAMinimumAboveTheServedSerialWaits() {
        assertRefused(
            S.judge(S.scan(current()), S.servers(movedZone(flags: 3, csyncSerial: 2_026_010_102))), rule: "csync-soaminimum",
            mentioning: ["2026010101", "2026010102", "RFC 7477 §2.1.1.2"])
        XCTAssertTrue(S.judge(S.scan(current()), S.servers(movedZone(flags: 3, csyncSerial: 2_026_010_100))).nameservers.isChange)
    }

    func testSerialChangedDuringTheScan() {
        var servers = S.servers(movedZone())
        var later = movedZone()
        later.serial += 1
        servers[0].afterwards = later.records
        assertRefused(S.judge(S.scan(current()), servers), rule: "csync-serial-changed", mentioning: ["2026010101, then 2026010102", "RFC 7477 §3.1"])
    }

    func testUnknownFlagIsRefused() {
        assertRefused(S.judge(S.scan(current()), S.servers(movedZone(flags: 5))), rule: "csync-unknown-flag", mentioning: ["RFC 7477 §2.1.1"])
    }

    func testUnknownTypeIsRefused() {
        assertRefused(S.judge(S.scan(current()), S.servers(movedZone(types: "A NS MX"))), rule: "csync-unknown-type", mentioning: ["MX"])
    }

    func testMoreThanOneCSYNCIsRefused() {
        var zone = movedZone()
        zone.csync.append(S.record("child.parent. 3600 IN CSYNC 2026010101 1 NS"))
        assertRefused(S.judge(S.scan(current()), S.servers(zone)), rule: "csync-multiple", mentioning: ["2 CSYNC records"])
    }

    func testDifferentCSYNCOnOneServerChangesNothing() {
        var servers = S.servers(movedZone())
        servers[1] = S.Server(S.ns2, "192.0.2.2", movedZone(types: "NS"))
        assertRefused(S.judge(S.scan(current()), servers), rule: "csync-inconsistent", mentioning: ["RFC 9975"])
    }

    func testDifferentNSOnOneServerChangesNothing() {
        var other = movedZone()
        other.nameservers = [S.ns1, S.ns2, S.ns3]
        other.addresses[S.ns2] = ["192.0.2.2"]
        var servers = S.servers(movedZone())
        servers[1] = S.Server(S.ns2, "192.0.2.2", other)
        assertRefused(S.judge(S.scan(current()), servers), rule: "csync-ns-inconsistent", mentioning: ["ns2.child.parent."])
    }

    func testDifferentGlueOnOneServerChangesNothing() {
        var other = movedZone()
        other.addresses[S.ns3] = ["192.0.2.33"]
        var servers = S.servers(movedZone())
        servers[1] = S.Server(S.ns2, "192.0.2.2", other)
        assertRefused(S.judge(S.scan(current()), servers), rule: "csync-glue-inconsistent", mentioning: ["192.0.2.33"])
    }

    func testUnsignedChildCannotUseCSYNC() {
        var zone = movedZone()
        zone.unsigned = true
        assertRefused(S.judge(S.scan(S.delegation(ds: [])), S.servers(zone)), rule: "csync-needs-dnssec", mentioning: ["RFC 7477 §3"])
    }

    func testExpiredSignaturesAreRefused() {
        assertRefused(S.judge(S.scan(current()), S.servers(movedZone()), now: S.now + 41 * S.day), rule: "csync-bogus", mentioning: ["expired at"])
    }

    func testNSSignedByAStrangerIsRefused() {
        let zone = movedZone()
        let stranger = ZoneSigner.key(S.child, flags: 256)
        var records = zone.records.filter { !($0.type == .rrsig && $0.name == S.child && $0.rdata[0...1] == [0, 2]) }
        records.append(S.signer.sign(zone.nameservers.map { Record(name: S.child, type: .ns, ttl: 3600, rdata: $0.wire) }, with: stranger))
        var servers = S.servers(zone)
        for index in servers.indices { servers[index].records = records }
        assertRefused(S.judge(S.scan(current()), servers), rule: "csync-bogus", mentioning: ["child.parent. NS", "no trusted DNSKEY"])
    }

    func testCSYNCAndCDSInOneScan() {
        let newKSK = ZoneSigner.key(S.child)
        var zone = movedZone()
        zone.ksks = [ksk, newKSK]
        zone.publishCDS(for: [newKSK])
        let outcome = S.judge(S.scan(current()), S.servers(zone))
        XCTAssertTrue(outcome.ds.isChange && outcome.nameservers.isChange, "\(outcome)")
        XCTAssertEqual(outcome.desired?.ds, [newKSK.ds().rdata])
        XCTAssertEqual(outcome.desired?.nameservers, [S.ns1, S.ns3])
    }

    func testCSYNCThatMatchesTheParentChangesNothing() {
        var zone = movedZone()
        zone.nameservers = [S.ns1, S.ns2]
        zone.addresses = [S.ns1: ["192.0.2.1"], S.ns2: ["192.0.2.2"]]
        let outcome = S.judge(S.scan(current()), S.servers(zone))
        guard case .unchanged(let text) = outcome.nameservers else { return XCTFail("\(outcome)") }
        XCTAssertTrue(text.contains("already holds"), text)
        XCTAssertEqual(outcome.operations, [])
    }
}
