import DNSWire
import DelegationCore
import SIG0
import TestSupport
import XCTest

/// The scanner on a signed child's CDS/CDNSKEY: RFC 9975 consistency, RFC 7344 validation and
/// continuity, the RFC 8078 delete signal — each refusal with its rule and reason.
final class DelegationScanCDSTests: XCTestCase {
    typealias S = ScanScenario
    let ksk = ZoneSigner.key(S.child)
    let newKSK = ZoneSigner.key(S.child)
    let zsk = ZoneSigner.key(S.child, flags: 256)

    /// A child signed with `ksk`, its DS at the parent, CDS/CDNSKEY for `ksk`.
    func steadyZone() -> S.Zone {
        var zone = S.Zone(ksks: [ksk], zsk: zsk)
        zone.publishCDS(for: [ksk])
        return zone
    }

    func refusal(_ part: ScanOutcome.Part, file: StaticString = #filePath, line: UInt = #line) -> PolicyViolation {
        guard case .refused(let violation) = part else {
            XCTFail("expected a refusal, got \(part)", file: file, line: line)
            return PolicyViolation(rule: "none", "")
        }
        return violation
    }

    func assertRefused(
        _ outcome: ScanOutcome, rule: String, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        let violation = refusal(outcome.ds, file: file, line: line)
        XCTAssertEqual(violation.rule, rule, violation.text, file: file, line: line)
        for word in words { XCTAssertTrue(violation.text.contains(word), "\(word) not in: \(violation.text)", file: file, line: line) }
        XCTAssertEqual(outcome.operations, [], file: file, line: line)
    }

    // MARK: Nothing to do

    func testSteadyStateChangesNothing() {
        let outcome = S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(steadyZone()))
        XCTAssertEqual(outcome.ds, .unchanged("the parent already holds the DS RRset child.parent.'s CDS/CDNSKEY ask for"))
        XCTAssertEqual(outcome.nameservers, .unchanged("child.parent. publishes no CSYNC"))
        XCTAssertEqual(outcome.operations, [])
    }

    func testNoCDSMeansNoAction() {
        let outcome = S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(S.Zone(ksks: [ksk], zsk: zsk)))
        XCTAssertEqual(outcome.ds, .unchanged("child.parent. publishes no CDS and no CDNSKEY (RFC 7344 §6.1: no action)"))
        XCTAssertEqual(outcome.operations, [])
    }

    // MARK: KSK rollover

    /// The new KSK signs beside the old one; CDS for the new key, signed by both: the DS follows.
    func testKSKRolloverReplacesTheDS() throws {
        var zone = S.Zone(ksks: [ksk, newKSK], zsk: zsk)
        zone.publishCDS(for: [newKSK])
        let outcome = S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone))
        guard case .change(let text) = outcome.ds else { return XCTFail("\(outcome)") }
        XCTAssertTrue(text.contains("\(newKSK.keyTag)"), text)
        XCTAssertEqual(
            outcome.operations,
            [
                .add(Record(name: S.child, type: .ds, ttl: 3600, rdata: newKSK.ds().rdata)),
                .delete(Record(name: S.child, type: .ds, ttl: 0, rdata: ksk.ds().rdata)),
            ])
        XCTAssertEqual(outcome.desired?.ds, [newKSK.ds().rdata])
    }

    /// RFC 7344 §4.1: the CDS must be signed by a key the current DS points at.
    func testCDSSignedOnlyByTheNewKeyIsRefused() {
        var zone = S.Zone(ksks: [ksk, newKSK], zsk: zsk)
        zone.publishCDS(for: [newKSK])
        zone.cdsSigners = [newKSK]
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "cds-bogus", mentioning: ["RFC 7344 §4.1", "\(ksk.keyTag)"])
    }

    // MARK: RFC 9975 inconsistencies

    func testDifferentCDSOnOneServerChangesNothing() {
        var rolled = S.Zone(ksks: [ksk, newKSK], zsk: zsk)
        rolled.publishCDS(for: [newKSK])
        var servers = S.servers(steadyZone())
        servers[1] = S.Server(S.ns2, "192.0.2.2", rolled)
        assertRefused(
            S.judge(S.scan(S.delegation(ds: [ksk])), servers), rule: "cds-inconsistent",
            mentioning: ["ns1.child.parent. at 192.0.2.1", "ns2.child.parent. at 192.0.2.2", "RFC 9975", "\(newKSK.keyTag)"])
    }

    func testCDSMissingOnOneServerChangesNothing() {
        var servers = S.servers(steadyZone())
        servers[0] = S.Server(S.ns1, "192.0.2.1", S.Zone(ksks: [ksk], zsk: zsk))
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), servers), rule: "cds-inconsistent", mentioning: ["serves no CDS"])
    }

    func testOneAddressOfANameserverDiffers() {
        var rolled = S.Zone(ksks: [ksk, newKSK], zsk: zsk)
        rolled.publishCDS(for: [newKSK])
        let servers = S.servers(rolled) + [S.Server(S.ns2, "2001:db8::2", steadyZone())]
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), servers), rule: "cds-inconsistent", mentioning: ["2001:db8::2"])
    }

    func testDifferentCDNSKEYOnOneServerChangesNothing() {
        var other = steadyZone()
        other.cdnskey = [newKSK.cdnskeyRecord]
        other.ksks = [ksk, newKSK]
        var servers = S.servers(steadyZone())
        servers[1] = S.Server(S.ns2, "192.0.2.2", other)
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), servers), rule: "cdnskey-inconsistent", mentioning: ["CDNSKEY"])
    }

    func testCDSAndCDNSKEYMustNameTheSameKeys() {
        var zone = S.Zone(ksks: [ksk, newKSK], zsk: zsk)
        zone.cds = [newKSK.cdsRecord]
        zone.cdnskey = [ksk.cdnskeyRecord]
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "cds-cdnskey-mismatch", mentioning: ["CDNSKEY \(ksk.keyTag)"])
    }

    func testDeleteSignalInOnlyOneRRsetIsAMismatch() {
        var zone = steadyZone()
        zone.cds = [S.record("child.parent. 3600 IN CDS 0 0 0 00")]
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "cds-cdnskey-mismatch", mentioning: ["delete signal in CDS only"])
    }

    func testUnreachableAddressChangesNothing() {
        var rolled = S.Zone(ksks: [ksk, newKSK], zsk: zsk)
        rolled.publishCDS(for: [newKSK])
        var servers = S.servers(rolled)
        servers[1].failure = "connection refused"
        let outcome = S.judge(S.scan(S.delegation(ds: [ksk])), servers)
        assertRefused(outcome, rule: "scan-unreachable", mentioning: ["ns2.child.parent. at 192.0.2.2: connection refused", "RFC 9975"])
        XCTAssertEqual(outcome.nameservers, outcome.ds)
    }

    func testNonAuthoritativeServerChangesNothing() {
        var servers = S.servers(steadyZone())
        servers[0].authoritative = false
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), servers), rule: "scan-not-authoritative", mentioning: ["without the AA bit"])
    }

    func testNameserverNeverAskedChangesNothing() {
        let servers = [S.servers(steadyZone())[0]]
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), servers), rule: "scan-no-address", mentioning: ["ns2.child.parent."])
        var noAddress = S.servers(steadyZone())
        noAddress[1] = S.Server(S.ns2, "", steadyZone())
        let observations = S.observe(noAddress, scan: S.scan(S.delegation(ds: [ksk]))).map { observation -> ScanObservation in
            var copy = observation
            if copy.address == "" {
                copy = ScanObservation(nameserver: S.ns2, address: nil, failure: "no address known for ns2.child.parent. (no glue in the parent)")
            }
            return copy
        }
        let outcome = S.scan(S.delegation(ds: [ksk])).judge(observations, bootstrap: nil, now: S.now)
        assertRefused(outcome, rule: "scan-no-address", mentioning: ["no glue in the parent"])
    }

    // MARK: Delete signal (RFC 8078 §4)

    func testDeleteSignalRemovesTheDS() {
        var zone = steadyZone()
        zone.publishDelete()
        let outcome = S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone))
        guard case .change(let text) = outcome.ds else { return XCTFail("\(outcome)") }
        XCTAssertTrue(text.contains("RFC 8078 §4"), text)
        XCTAssertEqual(outcome.operations, [.deleteRRset(S.child, .ds)])
        XCTAssertEqual(outcome.desired?.ds, [])
    }

    func testDeleteSignalSignedByAnotherKeyIsRefused() {
        var zone = steadyZone()
        zone.publishDelete()
        zone.cdsSigners = [newKSK]
        zone.idleKeys = [newKSK]
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "cds-bogus", mentioning: ["CDS"])
    }

    func testDeleteSignalBesideOtherCDSIsRefused() {
        var zone = steadyZone()
        zone.cds.append(S.record("child.parent. 3600 IN CDS 0 0 0 00"))
        zone.cdnskey = []
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "cds-delete-form-not-alone", mentioning: ["RFC 8078 §4"])
    }

    // MARK: Validation failures

    func testExpiredCDSSignatureIsRefused() {
        var rolled = S.Zone(ksks: [ksk, newKSK], zsk: zsk)
        rolled.publishCDS(for: [newKSK])
        let outcome = S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(rolled), now: S.now + 41 * S.day)
        assertRefused(outcome, rule: "cds-bogus", mentioning: ["expired at"])
    }

    func testCDSSignedByAStrangerIsRefused() {
        let stranger = ZoneSigner.key(S.child)
        var rolled = S.Zone(ksks: [ksk, newKSK], zsk: zsk)
        rolled.publishCDS(for: [stranger])
        rolled.cdsSigners = [stranger]
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(rolled)), rule: "cds-bogus", mentioning: ["no trusted DNSKEY"])
    }

    func testChildWithoutDNSKEYIsRefused() {
        var zone = steadyZone()
        zone.publishCDS(for: [newKSK])
        zone.unsigned = true
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "cds-bogus", mentioning: ["no DNSKEY RRset"])
    }

    /// The parent's DS points at a key the child no longer publishes: no chain to the CDS.
    func testDNSKEYNotMatchingTheParentsDSIsRefused() {
        var zone = S.Zone(ksks: [newKSK], zsk: zsk)
        zone.publishCDS(for: [newKSK])
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "cds-bogus", mentioning: ["matches its DS"])
    }

    // MARK: Continuity (RFC 7344 §4.1, RFC 4035 §2.2)

    func testCDSForAKeyThatDoesNotSignTheKeySetIsRefused() {
        var zone = steadyZone()
        zone.cds = [zsk.cdsRecord]
        zone.cdnskey = [zsk.cdnskeyRecord]
        assertRefused(S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "ds-breaks-validation", mentioning: ["\(zsk.keyTag)", "RFC 7344 §4.1"])
    }

    func testCDSForAnUnpublishedKeyAloneIsRefused() {
        var zone = steadyZone()
        zone.cds = [newKSK.cdsRecord]
        zone.cdnskey = []
        assertRefused(
            S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "ds-breaks-validation", mentioning: ["no DNSKEY with that key tag and algorithm"])
    }

    /// A DS for an algorithm the child does not sign with (RFC 6840 §5.11).
    func testDSForAnAlgorithmTheChildDoesNotSignWithIsRefused() {
        let ed25519 = ZoneSigner.key(S.child, algorithm: .ed25519)
        var zone = steadyZone()
        zone.idleKeys = [ed25519]
        zone.publishCDS(for: [ksk, ed25519])
        assertRefused(
            S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone)), rule: "ds-algorithm-not-signing", mentioning: ["algorithm 15", "RFC 6840 §5.11"])
    }

    /// A double-DS rollover: the DS for the next key before it is published; the change says so.
    func testPrePublishedDSBesideAWorkingOneIsAccepted() {
        var zone = steadyZone()
        zone.cds = [ksk.cdsRecord, newKSK.cdsRecord]
        zone.cdnskey = []
        let outcome = S.judge(S.scan(S.delegation(ds: [ksk])), S.servers(zone))
        guard case .change(let text) = outcome.ds else { return XCTFail("\(outcome)") }
        XCTAssertTrue(text.contains("DS \(newKSK.keyTag) for key(s) not published yet"), text)
        XCTAssertEqual(outcome.operations, [.add(Record(name: S.child, type: .ds, ttl: 3600, rdata: newKSK.ds().rdata))])
    }
}
