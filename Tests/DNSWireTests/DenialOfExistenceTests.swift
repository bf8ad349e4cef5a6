import DNSWire
import Foundation
import SIG0
import TestSupport
import XCTest

/// Denial of existence (RFC 4035 §5.4, RFC 5155 §8) and wildcard answers (RFC 4035 §5.3.4)
/// against the same zone `parent.` signed four ways: by BIND's `dnssec-signzone` with NSEC and
/// with NSEC3 opt-out (Vectors/README.md), and by ``ZoneSigner`` with an NSEC and an NSEC3
/// chain. The zone holds a wildcard `*._dsync.parent.` DSYNC, a child-specific
/// `special._dsync.parent.`, an empty non-terminal `b.parent.`, a secure and an insecure
/// delegation.
final class DenialOfExistenceTests: XCTestCase {
    static let parent = try! DomainName("parent.")
    static let during = DNSSECValidatorTests.during

    /// One signed copy of the zone: every record, and the zone keys its DS authenticates.
    struct Signed {
        let name: String
        let records: [Record]
        let keys: [KEYData]
        let now: Int64
        /// NSEC3 with opt-out: no DS at the insecure delegation is an opt-out span.
        let optOut: Bool

        var proofs: [Record] { records.filter { $0.type == .nsec || $0.type == .nsec3 || ($0.type == .rrsig && Self.covers($0, [.nsec, .nsec3])) } }

        static func covers(_ rrsig: Record, _ types: Set<RRType>) -> Bool {
            types.contains(RRType(UInt16(rrsig.rdata[0]) << 8 | UInt16(rrsig.rdata[1])))
        }

        func deny(_ name: String, _ type: RRType, nameError: Bool = false, without removed: (Record) -> Bool = { _ in false }, at time: Int64? = nil)
            -> Result<Denial, DNSSECFailure>
        {
            DNSSECValidator.proveDenial(
                of: try! DomainName(name), type, nameError: nameError, records: proofs.filter { !removed($0) }, zone: DenialOfExistenceTests.parent,
                keys: keys, now: time ?? now)
        }
    }

    static func bind(_ file: String, optOut: Bool) throws -> Signed {
        let records = try DNSSECValidatorTests.lines(file).map { try Record($0) }
        let anchor = try DNSSECValidatorTests.anchor("parent.ds")
        let keys = try DNSSECValidator.authenticate(SignedRRset(records, name: parent, type: .dnskey)!, anchor: anchor, now: during).get()
        return Signed(name: "BIND \(file)", records: records, keys: keys.zoneKeys, now: during, optOut: optOut)
    }

    /// The same zone content as the BIND vectors, signed here.
    static func zoneSigner(nsec3: Bool) throws -> Signed {
        let now: Int64 = 1_800_000_000
        let signer = ZoneSigner(inception: UInt32(now - 86400), expiration: UInt32(now + 30 * 86400))
        let key = ZoneSigner.key(parent)
        let content = try DNSSECValidatorTests.lines("parent.nsec.signed").map { try Record($0) }.filter {
            ![RRType.rrsig, .nsec, .dnskey].contains($0.type)
        }
        let apex = content + [key.record]
        // Only the zone's own RRsets are signed: not the NS of a delegation, not glue.
        let cuts: Set<DomainName> = [try DomainName("secure.parent."), try DomainName("insecure.parent.")]
        func unsignedAtCut(_ record: Record) -> Bool {
            (cuts.contains(record.name) && record.type == .ns) || cuts.contains { record.name != $0 && record.name.isSubdomain(of: $0) }
        }
        let signedData = signer.signed(apex.filter { !unsignedAtCut($0) }, with: [key])
        let unsignedData = apex.filter(unsignedAtCut)
        let chain =
            nsec3
            ? signer.nsec3Chain(apex, zone: parent, key: key, iterations: 1, salt: [0xAB, 0xCD], optOut: true) : signer.nsecChain(apex, zone: parent, key: key)
        let records: [Record] = signedData + unsignedData + chain
        return Signed(name: nsec3 ? "ZoneSigner NSEC3" : "ZoneSigner NSEC", records: records, keys: [key.dnskey], now: now, optOut: nsec3)
    }

    static func all() throws -> [Signed] {
        [
            try bind("parent.nsec.signed", optOut: false), try bind("parent.nsec3.signed", optOut: true), try zoneSigner(nsec3: false),
            try zoneSigner(nsec3: true),
        ]
    }

    func expect(_ result: Result<Denial, DNSSECFailure>, _ denial: Denial, _ zone: Signed, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(try? result.get(), denial, "\(zone.name): \(result)", file: file, line: line)
    }

    func expectBogus(_ result: Result<Denial, DNSSECFailure>, _ text: String, _ zone: Signed, file: StaticString = #filePath, line: UInt = #line) {
        guard case .failure(let failure) = result, !failure.insecure else { return XCTFail("\(zone.name): \(result)", file: file, line: line) }
        XCTAssertTrue(failure.reason.contains(text), "\(zone.name): \(failure.reason)", file: file, line: line)
    }

    func testNameErrorIsProven() throws {
        for zone in try Self.all() {
            expect(zone.deny("nothere.parent.", .a, nameError: true), .nameError, zone)
            // The DSYNC discovery names of RFC 9859 §4.1 below a name that does not exist.
            expect(zone.deny("child._dsync.nothere.parent.", .dsync, nameError: true), .nameError, zone)
        }
    }

    func testNoDataIsProven() throws {
        for zone in try Self.all() {
            expect(zone.deny("ns1.parent.", .aaaa), .noData, zone)
            expect(zone.deny("special._dsync.parent.", .a), .noData, zone)
        }
    }

    /// `b.parent.` has no records but `a.b.parent.` below it (RFC 4035 §3.1.3.2, RFC 5155 §7.1).
    func testEmptyNonTerminalIsNoData() throws {
        for zone in try Self.all() {
            expect(zone.deny("b.parent.", .dsync), .noData, zone)
            expectBogus(zone.deny("b.parent.", .dsync, nameError: true), "NXDOMAIN", zone)
        }
    }

    /// `x._dsync.parent.` exists only through the wildcard, which has no A.
    func testWildcardNoDataIsProven() throws {
        for zone in try Self.all() {
            expect(zone.deny("x._dsync.parent.", .a), .wildcardNoData, zone)
            expectBogus(zone.deny("x._dsync.parent.", .a, nameError: true), "wildcard", zone)
        }
    }

    /// DS at delegations: NODATA at the insecure one (NSEC), an opt-out span (NSEC3 -A); the
    /// secure one has DS.
    func testNoDSAtAnInsecureDelegation() throws {
        for zone in try Self.all() {
            expect(zone.deny("insecure.parent.", .ds), zone.optOut ? .optOut : .noData, zone)
            expectBogus(zone.deny("secure.parent.", .ds), "lists DS", zone)
            // The parent's NSEC at a cut proves nothing about the child's data.
            if !zone.optOut { expectBogus(zone.deny("insecure.parent.", .dsync), "delegation point", zone) }
        }
    }

    func testExistingDataCannotBeDenied() throws {
        for zone in try Self.all() {
            expectBogus(zone.deny("ns1.parent.", .a), "lists A", zone)
            expectBogus(zone.deny("ns1.parent.", .a, nameError: true), "NXDOMAIN", zone)
            expectBogus(zone.deny("special._dsync.parent.", .dsync), "lists DSYNC", zone)
        }
    }

    /// Without the record that proves the wildcard absent, NXDOMAIN is not proven; without any
    /// proof, or with expired ones, neither is anything.
    func testMissingOrExpiredProofsAreBogus() throws {
        for zone in try Self.all() {
            let proven = try XCTUnwrap(try? zone.deny("nothere.parent.", .a, nameError: true).get(), zone.name)
            XCTAssertEqual(proven, .nameError)
            // Every NSEC/NSEC3 that by itself could be dropped: a proof still standing without
            // one of them must not be one that needed it; at least one is needed.
            var needed = 0
            for record in zone.proofs where record.type != .rrsig {
                if case .failure = zone.deny("nothere.parent.", .a, nameError: true, without: { $0.name == record.name }) { needed += 1 }
            }
            XCTAssertGreaterThanOrEqual(needed, 2, "\(zone.name): an NXDOMAIN proof needs the name and the wildcard covered")
            expectBogus(zone.deny("nothere.parent.", .a, nameError: true, without: { _ in true }), "carries no NSEC or NSEC3", zone)
            expectBogus(zone.deny("nothere.parent.", .a, nameError: true, at: zone.now + 60 * 86400), "expired", zone)
        }
    }

    /// `child._dsync.parent. DSYNC` answered from `*._dsync.parent.` (RFC 9859's recommended
    /// publication): the signature verifies over the wildcard, and the NSEC/NSEC3 that proves
    /// `child._dsync.parent.` absent is required.
    func testWildcardExpandedAnswerNeedsItsProof() throws {
        for zone in try Self.all() {
            let wildcard = try DomainName("*._dsync.parent.")
            let asked = try DomainName("child._dsync.parent.")
            let expanded = zone.records.filter { $0.name == wildcard && ($0.type == .dsync || ($0.type == .rrsig && Signed.covers($0, [.dsync]))) }.map {
                Record(name: asked, type: $0.type, ttl: $0.ttl, rdata: $0.rdata)
            }
            let set = try XCTUnwrap(SignedRRset(expanded, name: asked, type: .dsync))
            XCTAssertEqual(DNSSECValidator.wildcardEncloser(set), try DomainName("_dsync.parent."), zone.name)
            guard case .failure(let refused) = DNSSECValidator.verify(set, zone: Self.parent, keys: zone.keys, now: zone.now) else {
                return XCTFail("\(zone.name): a wildcard answer verified without allowingWildcard")
            }
            XCTAssertTrue(refused.reason.contains("label count"), refused.reason)
            XCTAssertNoThrow(try DNSSECValidator.verify(set, zone: Self.parent, keys: zone.keys, now: zone.now, allowingWildcard: true).get(), zone.name)
            let encloser = try DomainName("_dsync.parent.")
            XCTAssertNoThrow(
                try DNSSECValidator.proveWildcardExpansion(
                    of: asked, closestEncloser: encloser, records: zone.proofs, zone: Self.parent, keys: zone.keys, now: zone.now
                )
                .get(), zone.name)
            // The proof must cover the name asked: only the apex's NSEC/NSEC3 is not one.
            let apexOnly = zone.proofs.filter { $0.name == Self.parent || $0.type == .rrsig && $0.name == Self.parent }
            guard
                case .failure(let missing) = DNSSECValidator.proveWildcardExpansion(
                    of: asked, closestEncloser: encloser, records: apexOnly, zone: Self.parent, keys: zone.keys, now: zone.now)
            else { return XCTFail("\(zone.name): wildcard expansion proven without a covering record") }
            XCTAssertTrue(missing.reason.contains("RFC 4035 §5.3.4"), missing.reason)
        }
    }

    func testNSEC3HashMatchesBIND() throws {
        // BIND's owner for parent. in parent.nsec3.signed (salt AABBCCDD, 0 iterations).
        let owners = Set(try DNSSECValidatorTests.lines("parent.nsec3.signed").map { try Record($0) }.filter { $0.type == .nsec3 }.map(\.name))
        let hash = NSEC3Data.base32Hex(NSEC3Data.hash(Self.parent, iterations: 0, salt: [0xAA, 0xBB, 0xCC, 0xDD]))
        XCTAssertTrue(owners.contains(try DomainName("\(hash).parent.")), "\(hash) not among \(owners)")
        XCTAssertEqual(NSEC3Data.hash(fromLabel: Array(hash.uppercased().utf8)), NSEC3Data.hash(Self.parent, iterations: 0, salt: [0xAA, 0xBB, 0xCC, 0xDD]))
    }
}
