import DNSWire
import DelegationCore
import XCTest

/// ``ContentCheck`` with fixed data: what it plans to ask, and how it judges what the child's
/// servers answered. No I/O; the observations are written out by hand.
final class ContentCheckTests: XCTestCase {
    let child = try! DomainName("child.parent.")
    let ns1 = try! DomainName("ns1.child.parent."), ns2 = try! DomainName("ns2.child.parent.")
    let provider = try! DomainName("ns.provider.example.")
    /// The child's KSK and ZSK (random key bytes: a DS is a digest, it needs no usable key).
    let ksk = try! Record("child.parent. 3600 IN DNSKEY 257 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")
    let zsk = try! Record("child.parent. 3600 IN DNSKEY 256 3 15 iCOCehcukPgOWGC8317/Slr+56ot2pjiP7S6wF3DOH0=")
    let soa = try! Record("child.parent. 60 IN SOA ns1.child.parent. hostmaster.child.parent. 1 3600 900 604800 60")

    func ds(_ key: Record, digestType: UInt8 = DSData.sha256) throws -> [UInt8] {
        try DSData(dnskey: key.rdata, owner: child, digestType: digestType).rdata
    }

    func glue(_ address: UInt8) -> Set<DelegationSnapshot.GlueAddress> {
        [DelegationSnapshot.GlueAddress(type: .a, rdata: [192, 0, 2, address])]
    }

    /// ns1 and ns2 in the child with glue 192.0.2.1 and 192.0.2.2.
    func delegation(ds: Set<[UInt8]> = [], extra: Set<DomainName> = []) -> DelegationSnapshot {
        DelegationSnapshot(child: child, nameservers: Set([ns1, ns2]).union(extra), ds: ds, glue: [ns1: glue(1), ns2: glue(2)])
    }

    func answer(_ records: [Record], rcode: RCode = .noError, aa: Bool = true) -> ChildServerObservation.Answer {
        ChildServerObservation.Answer(rcode: rcode, authoritative: aa, records: records)
    }

    /// One address of `name` answering every question of the checks like a healthy child.
    func healthy(_ name: DomainName, _ address: String, keys: [Record]? = nil, cds: [Record] = [], cdnskey: [Record] = []) -> ChildServerObservation {
        ChildServerObservation(
            nameserver: name, address: address,
            answers: [.soa: answer([soa]), .dnskey: answer(keys ?? [ksk, zsk]), .cds: answer(cds), .cdnskey: answer(cdnskey)])
    }

    var bothHealthy: [ChildServerObservation] { [healthy(ns1, "192.0.2.1"), healthy(ns2, "192.0.2.2")] }

    // MARK: Plan

    func testNothingIsAskedWhenNSGlueAndDSStayTheSame() {
        let current = delegation()
        var keyOnly = current
        keyOnly.keys = [[1, 2, 3]]
        XCTAssertNil(ContentCheck(checks: ContentChecks(), current: current, result: current).plan)
        XCTAssertNil(ContentCheck(checks: ContentChecks(), current: current, result: keyOnly).plan)
        XCTAssertNil(ContentCheck(checks: ContentChecks(), current: current, result: keyOnly).judge([]))
    }

    func testQuestionsFollowTheChecksThatApply() throws {
        let current = delegation()
        let added = delegation(ds: [try ds(ksk)])
        XCTAssertEqual(ContentCheck(checks: ContentChecks(), current: current, result: added).plan?.questions, [.soa, .dnskey])
        XCTAssertEqual(ContentCheck(checks: ContentChecks(nsAuthoritative: false), current: current, result: added).plan?.questions, [.dnskey])
        XCTAssertNil(ContentCheck(checks: .none, current: current, result: added).plan)
        // An NS change only: the SOA.
        let moreNS = DelegationSnapshot(child: child, nameservers: [ns1, ns2, provider], glue: current.glue)
        XCTAssertEqual(ContentCheck(checks: ContentChecks(), current: current, result: moreNS).plan?.questions, [.soa])
        XCTAssertNil(ContentCheck(checks: ContentChecks(nsAuthoritative: false), current: current, result: moreNS).plan)
        // Removing the last DS: everything the removal rule needs.
        XCTAssertEqual(ContentCheck(checks: ContentChecks(), current: added, result: current).plan?.questions, [.soa, .dnskey, .cds, .cdnskey])
    }

    /// Removing the last DS asks the servers before and after the change, each with the glue the
    /// parent holds for it; other changes ask only the resulting NS set.
    func testTargetsAndTheirGlue() throws {
        let signed = delegation(ds: [try ds(ksk)])
        let moved = DelegationSnapshot(child: child, nameservers: [ns1, provider], glue: [ns1: glue(9)])
        let removal = try XCTUnwrap(ContentCheck(checks: ContentChecks(), current: signed, result: moved).plan)
        // In canonical order (RFC 4034 §6.1): ns.provider.example. sorts before ns1.child.parent.
        XCTAssertEqual(removal.targets.map(\.nameserver), [provider, ns1, ns2])
        XCTAssertEqual(removal.targets.map(\.glue), [[], glue(9), glue(2)])
        let keep = DelegationSnapshot(child: child, nameservers: [ns1, provider], ds: signed.ds, glue: [ns1: glue(9)])
        XCTAssertEqual(try XCTUnwrap(ContentCheck(checks: ContentChecks(), current: signed, result: keep).plan).targets.map(\.nameserver), [provider, ns1])
    }

    // MARK: NS

    func testEveryNSAnsweringTheSOAAuthoritativelyPasses() {
        let result = DelegationSnapshot(child: child, nameservers: [ns1, ns2], glue: [ns1: glue(1), ns2: glue(2)])
        XCTAssertNil(ContentCheck(checks: ContentChecks(), current: DelegationSnapshot(child: child, nameservers: [ns1]), result: result).judge(bothHealthy))
    }

    func testNSProblemsAreRefusedNamingTheServer() {
        let current = DelegationSnapshot(child: child, nameservers: [ns1], glue: [ns1: glue(1)])
        let result = delegation()
        let check = ContentCheck(checks: ContentChecks(), current: current, result: result)
        let cases: [(ChildServerObservation, String, String)] = [
            (
                ChildServerObservation(nameserver: ns2, address: "192.0.2.2", answers: [.soa: answer([], aa: false)]), "ns-not-authoritative",
                "without the AA bit"
            ),
            (
                ChildServerObservation(nameserver: ns2, address: "192.0.2.2", answers: [.soa: answer([], rcode: .refused, aa: false)]), "ns-not-authoritative",
                "with REFUSED"
            ),
            (
                ChildServerObservation(nameserver: ns2, address: "192.0.2.2", answers: [.soa: answer([], rcode: .nxDomain)]), "ns-not-authoritative",
                "with NXDOMAIN"
            ),
            (ChildServerObservation(nameserver: ns2, address: "192.0.2.2", answers: [.soa: answer([])]), "ns-not-authoritative", "without the SOA record"),
            (ChildServerObservation(nameserver: ns2, address: "192.0.2.2", failure: "connection refused"), "ns-not-authoritative", "connection refused"),
            (
                ChildServerObservation(nameserver: ns2, address: nil, failure: "no address known for ns2.child.parent. (no glue in the parent)"),
                "ns-no-address",
                "no glue in the parent"
            ),
        ]
        for (observation, rule, detail) in cases {
            let violation = check.judge([healthy(ns1, "192.0.2.1"), observation])
            XCTAssertEqual(violation?.rule, rule, "\(observation)")
            XCTAssertEqual(violation?.infoCode, DelegationEDE.prohibited)
            XCTAssertTrue(violation?.text.contains(detail) == true, violation?.text ?? "accepted")
            XCTAssertTrue(violation?.text.contains("ns2.child.parent.") == true, violation?.text ?? "accepted")
        }
        // An NS nobody asked about (the caller left it out) is not taken as answering.
        XCTAssertEqual(check.judge([healthy(ns1, "192.0.2.1")])?.rule, "ns-no-address")
        // With the check off, none of that matters.
        XCTAssertNil(ContentCheck(checks: ContentChecks(nsAuthoritative: false), current: current, result: result).judge([]))
    }

    /// A SOA for another name (a server answering for some other zone) is not the child's.
    func testSOAOfAnotherNameDoesNotCount() throws {
        let check = ContentCheck(
            checks: ContentChecks(), current: DelegationSnapshot(child: child, nameservers: [ns1], glue: [ns1: glue(1)]), result: delegation())
        let other = try Record("parent. 60 IN SOA ns1.parent. hostmaster.parent. 1 3600 900 604800 60")
        let observation = ChildServerObservation(nameserver: ns2, address: "192.0.2.2", answers: [.soa: answer([other])])
        XCTAssertEqual(check.judge([healthy(ns1, "192.0.2.1"), observation])?.rule, "ns-not-authoritative")
    }

    // MARK: DS added

    func testDSOfTheKSKServedEverywherePasses() throws {
        for digestType in [DSData.sha256, DSData.sha384] {
            let check = ContentCheck(checks: ContentChecks(), current: delegation(), result: delegation(ds: [try ds(ksk, digestType: digestType)]))
            XCTAssertNil(check.judge(bothHealthy), "digest type \(digestType)")
        }
    }

    func testDSMismatchesAreRefused() throws {
        let stranger = try Record("child.parent. 3600 IN DNSKEY 257 3 15 rvyfuqsrI5hkNJSc5OPChO57oawPkph6dNV59TspxeA=")
        let revoked = try Record("child.parent. 3600 IN DNSKEY 385 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")
        let cases: [(ds: [UInt8], observations: [ChildServerObservation], detail: String)] = [
            (try ds(stranger), bothHealthy, "matches no DNSKEY of child.parent. with the SEP bit"),
            (try ds(zsk), bothHealthy, "flags 256"),
            (try ds(revoked), [healthy(ns1, "192.0.2.1", keys: [revoked]), healthy(ns2, "192.0.2.2", keys: [revoked])], "flags 385"),
            // Only one of the two servers has the key.
            (try ds(ksk), [healthy(ns1, "192.0.2.1"), healthy(ns2, "192.0.2.2", keys: [zsk])], "ns2.child.parent. at 192.0.2.2"),
            (try ds(ksk), [healthy(ns1, "192.0.2.1"), healthy(ns2, "192.0.2.2", keys: [])], "no DNSKEY at all"),
            // A server that does not answer DNSKEY authoritatively.
            (
                try ds(ksk),
                [healthy(ns1, "192.0.2.1"), ChildServerObservation(nameserver: ns2, address: "192.0.2.2", answers: [.dnskey: answer([ksk], aa: false)])],
                "without the AA bit"
            ),
            // The digest of the right key with the wrong owner.
            (try DSData(dnskey: ksk.rdata, owner: DomainName("other.parent."), digestType: 2).rdata, bothHealthy, "matches no DNSKEY"),
        ]
        for (rdata, observations, detail) in cases {
            let violation = ContentCheck(checks: ContentChecks(nsAuthoritative: false), current: delegation(), result: delegation(ds: [rdata])).judge(
                observations)
            XCTAssertEqual(violation?.rule, "ds-no-matching-dnskey", detail)
            XCTAssertTrue(violation?.text.contains(detail) == true, "\(violation?.text ?? "accepted") should mention \(detail)")
        }
        // With the check off, a mismatching DS goes through.
        XCTAssertNil(ContentCheck(checks: .none, current: delegation(), result: delegation(ds: [try ds(stranger)])).judge(bothHealthy))
    }

    /// Only the DS records the change adds are checked: one already held stays even when the
    /// child no longer serves its key (a rollover may be under way).
    func testOnlyAddedDSAreChecked() throws {
        let old = try ds(try Record("child.parent. 3600 IN DNSKEY 257 3 15 rvyfuqsrI5hkNJSc5OPChO57oawPkph6dNV59TspxeA="))
        let check = ContentCheck(checks: ContentChecks(), current: delegation(ds: [old]), result: delegation(ds: [old, try ds(ksk)]))
        XCTAssertEqual(check.addedDS, [try ds(ksk)])
        XCTAssertNil(check.judge(bothHealthy))
    }

    func testADigestTypeThatCannotBeComputedIsRefused() throws {
        var sha1 = try DSData(rdata: try ds(ksk))
        sha1.digestType = 1
        sha1.digest = Array(sha1.digest.prefix(20))
        let violation = ContentCheck(checks: ContentChecks(), current: delegation(), result: delegation(ds: [sha1.rdata])).judge(bothHealthy)
        XCTAssertEqual(violation?.rule, "ds-digest-unsupported")
        XCTAssertTrue(violation?.text.contains("digest type 1") == true, violation?.text ?? "accepted")
    }

    // MARK: Last DS removed

    func testRemovingTheLastDSOfAnUnsignedChildPasses() throws {
        let check = ContentCheck(checks: ContentChecks(), current: delegation(ds: [try ds(ksk)]), result: delegation())
        XCTAssertTrue(check.removesLastDS)
        XCTAssertNil(check.judge([healthy(ns1, "192.0.2.1", keys: []), healthy(ns2, "192.0.2.2", keys: [])]))
    }

    func testRemovingTheLastDSWhileSigned() throws {
        let check = ContentCheck(checks: ContentChecks(), current: delegation(ds: [try ds(ksk)]), result: delegation())
        let delete = try Record("child.parent. 60 IN CDS 0 0 0 00")
        let deleteKey = try Record("child.parent. 60 IN CDNSKEY 0 3 0 AA==")
        let realCDS = Record(name: child, type: .cds, ttl: 60, rdata: try ds(ksk))
        let realCDNSKEY = Record(name: child, type: .cdnskey, ttl: 60, rdata: ksk.rdata)
        let rrsig = try Record("child.parent. 60 IN RRSIG SOA 15 2 60 20300101000000 20200101000000 12345 child.parent. AAAA")
        func both(_ cds: [Record], _ cdnskey: [Record] = []) -> [ChildServerObservation] {
            [healthy(ns1, "192.0.2.1", cds: cds, cdnskey: cdnskey), healthy(ns2, "192.0.2.2", cds: cds, cdnskey: cdnskey)]
        }
        // Signed, no delete signal: refused.
        let refused = check.judge(both([]))
        XCTAssertEqual(refused?.rule, "ds-removal-while-signed")
        XCTAssertTrue(refused?.text.contains("CDS 0 0 0 00") == true, refused?.text ?? "accepted")
        // The delete signal everywhere, as CDS, as CDNSKEY, or both: accepted.
        XCTAssertNil(check.judge(both([delete])))
        XCTAssertNil(check.judge(both([], [deleteKey])))
        XCTAssertNil(check.judge(both([delete], [deleteKey])))
        // Not alone, not everywhere, or contradicted: refused.
        XCTAssertNotNil(check.judge(both([delete, realCDS])))
        XCTAssertNotNil(check.judge(both([delete], [realCDNSKEY])))
        XCTAssertNotNil(check.judge(both([realCDS], [deleteKey])))
        let half = check.judge([healthy(ns1, "192.0.2.1", cds: [delete]), healthy(ns2, "192.0.2.2")])
        XCTAssertTrue(half?.text.contains("ns2.child.parent. at 192.0.2.2 does not publish") == true, half?.text ?? "accepted")
        // RRSIGs without DNSKEY (a broken signed zone) count as signed too.
        let signatures = ChildServerObservation(
            nameserver: ns2, address: "192.0.2.2", answers: [.soa: answer([soa, rrsig]), .dnskey: answer([]), .cds: answer([]), .cdnskey: answer([])])
        XCTAssertEqual(check.judge([healthy(ns1, "192.0.2.1", keys: []), signatures])?.rule, "ds-removal-while-signed")
        // A server that cannot be asked: the agent cannot tell, so it refuses.
        let silent = ChildServerObservation(nameserver: ns2, address: "192.0.2.2", answers: [.soa: answer([soa])], failure: "timeout")
        let unknown = ContentCheck(checks: ContentChecks(nsAuthoritative: false), current: check.current, result: check.result)
            .judge([healthy(ns1, "192.0.2.1", keys: []), silent])
        XCTAssertEqual(unknown?.rule, "ds-removal-while-signed")
        XCTAssertTrue(unknown?.text.contains("cannot tell") == true, unknown?.text ?? "accepted")
        // Switched off: the removal goes through.
        XCTAssertNil(ContentCheck(checks: ContentChecks(dsRemovalNeedsCDSDelete: false), current: check.current, result: check.result).judge(both([])))
    }

    /// The servers that served the signed zone until now count, even when the change drops them.
    func testServersLeavingWithTheRemovalCount() throws {
        let current = delegation(ds: [try ds(ksk)])
        let result = DelegationSnapshot(child: child, nameservers: [ns1], glue: [ns1: glue(1)])
        let check = ContentCheck(checks: ContentChecks(), current: current, result: result)
        // ns1 (staying) is unsigned; ns2 (leaving) still serves the keys.
        let violation = check.judge([healthy(ns1, "192.0.2.1", keys: []), healthy(ns2, "192.0.2.2")])
        XCTAssertEqual(violation?.rule, "ds-removal-while-signed")
        XCTAssertTrue(violation?.text.contains("ns2.child.parent. at 192.0.2.2 still serves DNSKEY") == true, violation?.text ?? "accepted")
    }
}
