import DNSWire
import XCTest

final class DSDataTests: XCTestCase {
    /// The DNSKEY of RFC 4509 §2.3 (the same key as RFC 4034 §5.4).
    static let rfc4509Key =
        "dskey.example.com. 86400 IN DNSKEY 256 3 5 "
        + "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvx"
        + "egXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw=="
    /// Its DS with digest type 2, as RFC 4509 §2.3 prints it.
    static let rfc4509DS = "60485 5 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A"

    func testRFC4509Example() throws {
        let key = try Record(Self.rfc4509Key)
        let ds = try DSData(sha256OfDNSKEY: key.rdata, owner: key.name)
        XCTAssertEqual(ds.keyTag, 60485)
        XCTAssertEqual(ds.algorithm, 5)
        XCTAssertEqual(ds.digestType, DSData.sha256)
        XCTAssertEqual(ds.description, Self.rfc4509DS)
        // The RDATA is what ldns makes of the RFC's DS presentation.
        let expected = try Record("dskey.example.com. 86400 IN DS \(Self.rfc4509DS)")
        XCTAssertEqual(ds.rdata, expected.rdata)
        XCTAssertEqual(try DSData(rdata: expected.rdata), ds)
    }

    /// RFC 4034 §5.1.4 hashes the owner in canonical form: case does not change the digest.
    func testOwnerIsHashedLowerCase() throws {
        let key = try Record(Self.rfc4509Key)
        let upper = try DSData(sha256OfDNSKEY: key.rdata, owner: try DomainName("DSKey.EXAMPLE.com."))
        XCTAssertEqual(upper.description, Self.rfc4509DS)
    }

    func testOtherOwnerGivesOtherDigest() throws {
        let key = try Record(Self.rfc4509Key)
        let other = try DSData(sha256OfDNSKEY: key.rdata, owner: try DomainName("dskey.example.net."))
        XCTAssertEqual(other.keyTag, 60485)
        XCTAssertNotEqual(other.description, Self.rfc4509DS)
    }

    func testRefusesShortRDATAAndRSAMD5() throws {
        XCTAssertThrowsError(try DSData(sha256OfDNSKEY: [1, 1, 3], owner: .root))
        XCTAssertThrowsError(try DSData(sha256OfDNSKEY: [1, 1, 3, 1, 0xAA], owner: .root))
        XCTAssertThrowsError(try DSData(rdata: [0, 0, 0, 0]))
    }

    /// RFC 8078 §4: `CDS 0 0 0 00` is the delete request; an ordinary CDS is not.
    func testCDSDeleteForm() throws {
        let delete = try Record("child.parent. 3600 IN CDS 0 0 0 00")
        XCTAssertEqual(delete.rdata, [0, 0, 0, 0, 0])
        XCTAssertTrue(try DSData(rdata: delete.rdata).isDeleteRequest)
        let ordinary = try Record("child.parent. 3600 IN CDS \(Self.rfc4509DS)")
        XCTAssertFalse(try DSData(rdata: ordinary.rdata).isDeleteRequest)
    }

    func testDNSKEYFlags() throws {
        let ksk = try KEYData(rdata: try Record("child.parent. 3600 IN DNSKEY 257 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=").rdata)
        XCTAssertTrue(ksk.isZoneKey)
        XCTAssertTrue(ksk.isSecureEntryPoint)
        XCTAssertFalse(ksk.isRevoked)
        let zsk = try KEYData(rdata: try Record(Self.rfc4509Key).rdata)
        XCTAssertTrue(zsk.isZoneKey)
        XCTAssertFalse(zsk.isSecureEntryPoint)
        let revoked = KEYData(flags: 257 | 0x80, algorithm: 15, publicKey: [1])
        XCTAssertTrue(revoked.isRevoked)
        let notZone = KEYData(flags: 1, algorithm: 15, publicKey: [1])
        XCTAssertFalse(notZone.isZoneKey)
        XCTAssertTrue(notZone.isSecureEntryPoint)
    }

    /// The P-384 KSK of RFC 6605 §6.2 and its SHA-384 DS as the RFC prints it; the same DS
    /// comes out of BIND 9.18's `dnssec-dsfromkey -a SHA-384` and ldns 1.8's `ldns-key2ds -4`.
    static let rfc6605Key =
        "example.net. 3600 IN DNSKEY 257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8"
        + "/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40"
    static let rfc6605DS = "10771 14 4 72D7B62976CE06438E9C0BF319013CF801F09ECC84B8D7E9495F27E305C6A9B0563A9B5F4D288405C3008A946DF983D6"

    func testSHA384FromRFC6605() throws {
        let key = try Record(Self.rfc6605Key)
        let ds = try DSData(dnskey: key.rdata, owner: key.name, digestType: DSData.sha384)
        XCTAssertEqual(ds.description, Self.rfc6605DS)
        XCTAssertEqual(ds.rdata, try Record("example.net. 3600 IN DS \(Self.rfc6605DS)").rdata)
        // SHA-256 of the same key, as `dnssec-dsfromkey -a SHA-256` prints it.
        XCTAssertEqual(
            try DSData(dnskey: key.rdata, owner: key.name, digestType: DSData.sha256).description,
            "10771 14 2 FDE87F87D3A32AD8781EB0D79AC02F80D1381CECDA3567C2352B4986645C2DD0")
    }

    /// SHA-1 (1) must not be made any more (RFC 8624 §3.3), GOST (3) is not implemented.
    func testOtherDigestTypesAreNotComputed() throws {
        let key = try Record(Self.rfc6605Key)
        for type: UInt8 in [0, 1, 3, 5] {
            XCTAssertThrowsError(try DSData(dnskey: key.rdata, owner: key.name, digestType: type), "digest type \(type)")
        }
        XCTAssertEqual(DSData.computableDigestTypes, [2, 4])
    }
}
