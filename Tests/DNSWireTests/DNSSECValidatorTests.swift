import DNSWire
import Foundation
import SIG0
import TestSupport
import XCTest

/// The validation engine against a zone BIND signed (Vectors/README.md) and against zones signed
/// here by ``ZoneSigner``: secure, and each way of being bogus or insecure with its reason.
final class DNSSECValidatorTests: XCTestCase {
    static let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")
    static let child = try! DomainName("child.parent.")
    /// 2026-01-09, inside the vectors' validity window (2026-01-01 to 2026-02-01).
    static let during: Int64 = 1_768_000_000

    static func lines(_ name: String) throws -> [String] {
        let text = try String(contentsOf: vectors.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix(";") }
    }

    static func zone() throws -> [Record] { try lines("child.parent.signed").map { try Record($0) } }

    static func set(_ records: [Record], _ type: RRType, at name: DomainName = child) -> SignedRRset {
        SignedRRset(records, name: name, type: type)!
    }

    static func anchor(_ file: String) throws -> TrustAnchor { try TrustAnchor(text: try lines(file).joined(separator: "\n")) }

    // MARK: BIND's signatures

    func testBINDSignedZoneValidatesUnderItsDS() throws {
        let zone = try Self.zone()
        let anchor = try Self.anchor("child.parent.ds")
        let keys = try DNSSECValidator.authenticate(Self.set(zone, .dnskey), anchor: anchor, now: Self.during).get()
        XCTAssertEqual(keys.entryKeys.map(\.keyTag), [42991])
        XCTAssertEqual(Set(keys.zoneKeys.map(\.keyTag)), [42991, 17129])
        for type in [RRType.cds, .cdnskey] {
            XCTAssertEqual(
                DNSSECValidator.validate(Self.set(zone, type), dnskey: Self.set(zone, .dnskey), anchor: anchor, now: Self.during, signer: .entryKey),
                .secure(signers: keys.entryKeys), "\(type)")
        }
        for type in [RRType.soa, .ns, .csync] {
            XCTAssertTrue(DNSSECValidator.validate(Self.set(zone, type), dnskey: Self.set(zone, .dnskey), anchor: anchor, now: Self.during).isSecure, "\(type)")
        }
        let glue = Self.set(zone, .a, at: try DomainName("ns1.child.parent."))
        XCTAssertTrue(DNSSECValidator.validate(glue, dnskey: Self.set(zone, .dnskey), anchor: anchor, now: Self.during).isSecure)
    }

    /// RFC 7344 §4.1: CDS must be signed by a key the DS points at; the SOA is signed by the ZSK.
    func testEntryKeyRuleRefusesDataSignedByTheZSKOnly() throws {
        let zone = try Self.zone()
        let verdict = DNSSECValidator.validate(
            Self.set(zone, .soa), dnskey: Self.set(zone, .dnskey), anchor: try Self.anchor("child.parent.ds"), now: Self.during, signer: .entryKey)
        guard case .bogus(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("RFC 7344 §4.1") && reason.contains("17129"), reason)
    }

    func testExpiredSignatureIsBogus() throws {
        let zone = try Self.zone()
        let verdict = DNSSECValidator.validate(
            Self.set(zone, .cds), dnskey: Self.set(zone, .dnskey), anchor: try Self.anchor("child.parent.ds"), now: 1_772_323_200)
        guard case .bogus(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("expired at 20260201000000"), reason)
    }

    func testSignatureNotYetValidIsBogus() throws {
        let zone = try Self.zone()
        let verdict = DNSSECValidator.validate(
            Self.set(zone, .cds), dnskey: Self.set(zone, .dnskey), anchor: try Self.anchor("child.parent.ds"), now: 1_764_547_200)
        guard case .bogus(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("not valid before 20260101000000"), reason)
    }

    func testDSOfAnotherKeyIsBogus() throws {
        let zone = try Self.zone()
        let verdict = DNSSECValidator.validate(
            Self.set(zone, .cds), dnskey: Self.set(zone, .dnskey), anchor: try Self.anchor("other-key.ds"), now: Self.during)
        guard case .bogus(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("no DNSKEY of child.parent. matches its DS") && reason.contains("no DNSKEY with that key tag"), reason)
    }

    func testDSDigestMismatchIsBogus() throws {
        let zone = try Self.zone()
        var ds = try Self.anchor("child.parent.ds").ds[0]
        ds.digest[0] ^= 0xFF
        let verdict = DNSSECValidator.validate(
            Self.set(zone, .cds), dnskey: Self.set(zone, .dnskey), anchor: TrustAnchor(zone: Self.child, ds: [ds]), now: Self.during)
        guard case .bogus(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("digest mismatch"), reason)
        XCTAssertEqual(DNSSECValidator.entryPoint(ds, dnskey: Self.set(zone, .dnskey), now: Self.during).description.contains("digest mismatch"), true)
    }

    func testMissingDNSKEYIsAMissingChain() throws {
        let zone = try Self.zone()
        let verdict = DNSSECValidator.validate(Self.set(zone, .cds), dnskey: Self.set(zone, .soa), anchor: try Self.anchor("child.parent.ds"), now: Self.during)
        guard case .bogus(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("missing chain"), reason)
    }

    func testAlteredDataDoesNotVerify() throws {
        let zone = try Self.zone()
        var cds = Self.set(zone, .cds)
        cds.rrset = RRset(
            name: Self.child, type: .cds, ttl: 3600,
            rdatas: [DSData(keyTag: 42991, algorithm: 13, digestType: 2, digest: [UInt8](repeating: 7, count: 32)).rdata])
        let verdict = DNSSECValidator.validate(cds, dnskey: Self.set(zone, .dnskey), anchor: try Self.anchor("child.parent.ds"), now: Self.during)
        guard case .bogus(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("the signature does not verify"), reason)
    }

    func testUnsignedRRsetIsBogusInASignedZone() throws {
        let zone = try Self.zone()
        var cds = Self.set(zone, .cds)
        cds.signatures = []
        let verdict = DNSSECValidator.validate(cds, dnskey: Self.set(zone, .dnskey), anchor: try Self.anchor("child.parent.ds"), now: Self.during)
        guard case .bogus(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("has no RRSIG"), reason)
    }

    func testNoDSIsInsecure() throws {
        let zone = try Self.zone()
        let verdict = DNSSECValidator.validate(Self.set(zone, .cds), dnskey: Self.set(zone, .dnskey), anchor: TrustAnchor(zone: Self.child), now: Self.during)
        XCTAssertEqual(verdict, .insecure("no DS for child.parent.: the delegation is not signed"))
    }

    func testOnlyUnsupportedDigestTypesIsInsecure() throws {
        let zone = try Self.zone()
        let sha1 = DSData(keyTag: 42991, algorithm: 13, digestType: 1, digest: [UInt8](repeating: 1, count: 20))
        let verdict = DNSSECValidator.validate(
            Self.set(zone, .cds), dnskey: Self.set(zone, .dnskey), anchor: TrustAnchor(zone: Self.child, ds: [sha1]), now: Self.during)
        guard case .insecure(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("not validated here"), reason)
    }

    /// RFC 4035 §2.2, RFC 6840 §5.11: a DS is only useful for a key that signs the DNSKEY RRset.
    func testEntryPoints() throws {
        let zone = try Self.zone()
        let dnskey = Self.set(zone, .dnskey)
        let keys = dnskey.rrset.rdatas.map { try! KEYData(rdata: $0) }
        let ksk = keys.first { $0.keyTag == 42991 }!, zsk = keys.first { $0.keyTag == 17129 }!
        let kskDS = try DSData(dnskey: ksk.rdata, owner: Self.child, digestType: DSData.sha256)
        XCTAssertEqual(DNSSECValidator.entryPoint(kskDS, dnskey: dnskey, now: Self.during), .signsKeySet(ksk))
        let zskDS = try DSData(dnskey: zsk.rdata, owner: Self.child, digestType: DSData.sha384)
        guard case .keyDoesNotSign(let key, let why) = DNSSECValidator.entryPoint(zskDS, dnskey: dnskey, now: Self.during) else { return XCTFail() }
        XCTAssertEqual(key, zsk)
        XCTAssertTrue(why.contains("has no RRSIG") || why.contains("no trusted DNSKEY"), why)
        let ed25519 = DSData(keyTag: 4711, algorithm: 15, digestType: 2, digest: [UInt8](repeating: 9, count: 32))
        XCTAssertEqual(DNSSECValidator.entryPoint(ed25519, dnskey: dnskey, now: Self.during), .noKey)
        XCTAssertEqual(DNSSECValidator.entryPoint(kskDS, dnskey: dnskey, now: 1_772_323_200).description.contains("expired"), true)
    }

    // MARK: Zones signed here

    static let signer = ZoneSigner(inception: 1_767_225_600, expiration: 1_769_904_000)

    /// ``ZoneSigner``'s own canonical form against ldns, for each algorithm it makes.
    func testZoneSignerSignaturesValidateForEveryAlgorithm() throws {
        for algorithm in [SIG0Algorithm.ecdsaP256SHA256, .ecdsaP384SHA384, .ed25519, .rsaSHA256] {
            let key = ZoneSigner.key(Self.child, algorithm: algorithm)
            let records = Self.signer.signed(
                [key.record, try Record("child.parent. 3600 IN NS NS1.Child.Parent."), try Record("child.parent. 3600 IN NS ns2.other.example.")], with: [key])
            let verdict = DNSSECValidator.validate(
                Self.set(records, .ns), dnskey: Self.set(records, .dnskey), anchor: TrustAnchor(zone: Self.child, ds: [key.ds()]), now: Self.during)
            XCTAssertEqual(verdict, .secure(signers: [key.dnskey]), "\(algorithm)")
        }
    }

    func testKeyAnchorAuthenticatesTheKeySet() throws {
        let ksk = ZoneSigner.key(Self.child), other = ZoneSigner.key(Self.child)
        let records = Self.signer.signed([ksk.record], with: [ksk])
        XCTAssertTrue(
            try DNSSECValidator.authenticate(Self.set(records, .dnskey), anchor: TrustAnchor(zone: Self.child, dnskeys: [ksk.dnskey]), now: Self.during).get()
                .entryKeys == [ksk.dnskey])
        let refused = DNSSECValidator.authenticate(Self.set(records, .dnskey), anchor: TrustAnchor(zone: Self.child, dnskeys: [other.dnskey]), now: Self.during)
        guard case .failure(let failure) = refused else { return XCTFail() }
        XCTAssertTrue(failure.reason.contains("no trusted DNSKEY"), failure.reason)
    }

    func testRevokedKeyDoesNotValidate() throws {
        let revoked = ZoneSigner.key(Self.child).with(flags: 257 | 0x80)
        let records = Self.signer.signed([revoked.record], with: [revoked])
        let verdict = DNSSECValidator.validate(
            Self.set(records, .dnskey), dnskey: Self.set(records, .dnskey), anchor: TrustAnchor(zone: Self.child, ds: [revoked.ds()]), now: Self.during)
        guard case .bogus(let reason) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertTrue(reason.contains("not a usable zone key"), reason)
    }

    func testSignerOtherThanTheZoneAndWildcardsAreRefused() throws {
        let key = ZoneSigner.key(Self.child)
        let ns = try Record("child.parent. 3600 IN NS ns1.child.parent.")
        var records = [key.record, Self.signer.sign([key.record], with: key), ns, Self.signer.sign([ns], with: key, signer: try DomainName("parent."))]
        let anchor = TrustAnchor(zone: Self.child, ds: [key.ds()])
        guard case .bogus(let reason) = DNSSECValidator.validate(Self.set(records, .ns), dnskey: Self.set(records, .dnskey), anchor: anchor, now: Self.during)
        else {
            return XCTFail()
        }
        XCTAssertTrue(reason.contains("names the signer parent., not the zone child.parent."), reason)
        records[3] = Self.signer.sign([ns], with: key, labels: 1)
        guard case .bogus(let wildcard) = DNSSECValidator.validate(Self.set(records, .ns), dnskey: Self.set(records, .dnskey), anchor: anchor, now: Self.during)
        else {
            return XCTFail()
        }
        XCTAssertTrue(wildcard.contains("wildcard"), wildcard)
    }

    /// RFC 9615 signaling names: an RRset two zones below a configured anchor.
    func testChainFromAnAnchorThroughAZoneCut() throws {
        let example = try DomainName("example."), provider = try DomainName("provider.example.")
        let top = ZoneSigner.key(example), below = ZoneSigner.key(provider)
        let topRecords = Self.signer.signed([top.record, below.dsRecord()], with: [top])
        let signal = try Record(
            "_dsboot.child.parent._signal.ns1.provider.example. 3600 IN CDS 42991 13 2 CBE09CF13C3022E9116F0114D1F357B004EE9E0252E6CFE2D39F6541430F9AA0")
        let belowRecords = Self.signer.signed([below.record, signal], with: [below])
        let target = Self.set(belowRecords, .cds, at: signal.name)
        let anchor = TrustAnchor(zone: example, ds: [top.ds()])
        let chain = [
            DNSSECValidator.ChainLink(zone: example, ds: nil, dnskey: Self.set(topRecords, .dnskey, at: example)),
            DNSSECValidator.ChainLink(zone: provider, ds: Self.set(topRecords, .ds, at: provider), dnskey: Self.set(belowRecords, .dnskey, at: provider)),
        ]
        XCTAssertEqual(DNSSECValidator.validate(target, chain: chain, anchor: anchor, now: Self.during), .secure(signers: [below.dnskey]))

        var broken = chain
        broken[1].ds = nil
        guard case .bogus(let missing) = DNSSECValidator.validate(target, chain: broken, anchor: anchor, now: Self.during) else { return XCTFail() }
        XCTAssertTrue(missing.contains("missing chain: no DS RRset for provider.example."), missing)
        guard case .bogus(let short) = DNSSECValidator.validate(target, chain: Array(chain.prefix(1)), anchor: anchor, now: Self.during) else {
            return XCTFail()
        }
        XCTAssertTrue(short.contains("names the signer provider.example., not the zone example."), short)
        let stranger = TrustAnchor(zone: example, ds: [ZoneSigner.key(example).ds()])
        guard case .bogus(let wrong) = DNSSECValidator.validate(target, chain: chain, anchor: stranger, now: Self.during) else { return XCTFail() }
        XCTAssertTrue(wrong.contains("matches its DS"), wrong)
    }

    func testTrustAnchorText() throws {
        let anchor = try TrustAnchor(text: "; the root\n. 172800 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n\n")
        XCTAssertEqual(anchor.zone, .root)
        XCTAssertEqual(anchor.ds.map(\.keyTag), [20326])
        XCTAssertThrowsError(try TrustAnchor(text: "example. IN A 192.0.2.1")) { XCTAssertTrue("\($0)".contains("line 1"), "\($0)") }
        XCTAssertThrowsError(try TrustAnchor(text: "a. IN DS 1 13 2 00\nb. IN DS 1 13 2 00")) {
            XCTAssertTrue("\($0)".contains("one zone per anchor"), "\($0)")
        }
        XCTAssertThrowsError(try TrustAnchor(text: "; nothing"))
    }
}
