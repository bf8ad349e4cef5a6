import CLDNS

/// DS RDATA (RFC 4034 §5.1): key tag, algorithm, digest type, digest — and the computation of a
/// SHA-256 DS from a DNSKEY (RFC 4034 §5.1.4, RFC 4509 §2.1). CDS RDATA has the same layout
/// (RFC 7344 §3.1).
public struct DSData: Sendable, Hashable, CustomStringConvertible {
    public var keyTag: UInt16
    public var algorithm: UInt8
    /// 2 is SHA-256 (RFC 4509 §5), 4 SHA-384 (RFC 6605 §6); 0 only in the CDS delete form.
    public var digestType: UInt8
    public var digest: [UInt8]

    /// Digest type 2, SHA-256 (RFC 4509 §5).
    public static let sha256: UInt8 = 2
    /// Digest type 4, SHA-384 (RFC 6605 §6).
    public static let sha384: UInt8 = 4
    /// The digest types ``init(dnskey:owner:digestType:)`` computes.
    public static let computableDigestTypes: Set<UInt8> = [sha256, sha384]

    public init(keyTag: UInt16, algorithm: UInt8, digestType: UInt8, digest: [UInt8]) {
        self.keyTag = keyTag
        self.algorithm = algorithm
        self.digestType = digestType
        self.digest = digest
    }

    /// Decodes DS or CDS RDATA; the digest must have at least one octet (RFC 4034 §5.1).
    public init(rdata: [UInt8]) throws {
        guard rdata.count >= 5 else { throw DNSWireError(.truncated, "DS RDATA of \(rdata.count) octets (at least 5)") }
        keyTag = UInt16(rdata[0]) << 8 | UInt16(rdata[1])
        algorithm = rdata[2]
        digestType = rdata[3]
        digest = Array(rdata[4...])
    }

    /// The DS for a DNSKEY (or CDNSKEY) RDATA at `owner`, with digest type 2 (RFC 4509 §2.1):
    ///
    ///     digest = SHA-256(DNSKEY owner name | DNSKEY RDATA)
    ///
    /// where the owner is in canonical form, i.e. uncompressed and lower-cased (RFC 4034 §5.1.4,
    /// §6.2), and the key tag is RFC 4034 Appendix B's, over the same RDATA.
    ///
    /// Throws for RDATA shorter than the four fixed octets, and for algorithm 1 (RSAMD5), whose
    /// key tag is computed differently (RFC 4034 Appendix B.1) and which must not be used any
    /// more (RFC 8624 §3.1).
    public init(sha256OfDNSKEY rdata: [UInt8], owner: DomainName) throws {
        try self.init(dnskey: rdata, owner: owner, digestType: Self.sha256)
    }

    /// The DS for a DNSKEY RDATA at `owner` with digest type 2 (SHA-256, RFC 4509 §2.1) or 4
    /// (SHA-384, RFC 6605 §6): the digest of the canonical owner name followed by the RDATA, as
    /// above. Throws for other digest types (SHA-1 must not be created any more, RFC 8624 §3.3;
    /// GOST is not implemented), and for what ``init(sha256OfDNSKEY:owner:)`` refuses.
    public init(dnskey rdata: [UInt8], owner: DomainName, digestType: UInt8) throws {
        guard rdata.count >= 4 else { throw DNSWireError(.truncated, "DNSKEY RDATA of \(rdata.count) octets (at least 4)") }
        guard rdata[3] != 1 else {
            throw DNSWireError(.badRdata, "DNSKEY algorithm 1 (RSAMD5) has no DS here: it must not be used (RFC 8624 §3.1)")
        }
        let data = owner.lowercased.wire + rdata
        let digest: [UInt8]
        switch digestType {
        case Self.sha256: digest = SHA256.digest(data)
        case Self.sha384: digest = SHA384.digest(data)
        default: throw DNSWireError(.badRdata, "DS digest type \(digestType) is not computed here (only 2, SHA-256, and 4, SHA-384)")
        }
        self.init(keyTag: KEYData.keyTag(rdata: rdata), algorithm: rdata[3], digestType: digestType, digest: digest)
    }

    public var rdata: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4 + digest.count)
        out.appendU16(keyTag)
        out.append(algorithm)
        out.append(digestType)
        out.append(contentsOf: digest)
        return out
    }

    /// True for the CDS "delete" form `0 0 0 00` (RFC 8078 §4): the child asks the parent to
    /// remove every DS, turning the delegation insecure.
    public var isDeleteRequest: Bool {
        keyTag == 0 && algorithm == 0 && digestType == 0 && digest == [0]
    }

    /// Presentation form (RFC 4034 §5.3): `keytag algorithm digesttype HEX`.
    public var description: String {
        "\(keyTag) \(algorithm) \(digestType) \(digest.hexString.uppercased())"
    }

}

extension KEYData {
    /// DNSKEY flags bit 7, Zone Key (RFC 4034 §2.1.1): only a zone key may sign the zone's data.
    /// (In a KEY record, RFC 2535 §3.1.2, the same bit marks a zone key as well.)
    public var isZoneKey: Bool { flags & 0x0100 != 0 }

    /// DNSKEY flags bit 15, Secure Entry Point (RFC 4034 §2.1.1, RFC 3757): the key meant to be
    /// pointed at by the parent's DS. Validators ignore it; it is a hint for tools like this one.
    public var isSecureEntryPoint: Bool { flags & 0x0001 != 0 }

    /// DNSKEY flags bit 8, REVOKE (RFC 5011 §3): the key must not be used any more.
    public var isRevoked: Bool { flags & 0x0080 != 0 }
}
