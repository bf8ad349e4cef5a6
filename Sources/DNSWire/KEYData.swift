/// KEY RDATA (RFC 2535 §3.1, RFC 3445 §3): flags, protocol, algorithm, public key — the same
/// layout as DNSKEY (RFC 4034 §2.1).
public struct KEYData: Sendable, Hashable {
    public var flags: UInt16
    /// Must be 3 (RFC 3445 §3).
    public var `protocol`: UInt8
    public var algorithm: UInt8
    public var publicKey: [UInt8]

    public init(flags: UInt16, protocol: UInt8 = 3, algorithm: UInt8, publicKey: [UInt8]) {
        self.flags = flags
        self.protocol = `protocol`
        self.algorithm = algorithm
        self.publicKey = publicKey
    }

    public init(rdata: [UInt8]) throws {
        guard rdata.count >= 4 else { throw DNSWireError(.truncated, "KEY RDATA of \(rdata.count) octets") }
        flags = UInt16(rdata[0]) << 8 | UInt16(rdata[1])
        `protocol` = rdata[2]
        algorithm = rdata[3]
        publicKey = Array(rdata[4...])
    }

    public var rdata: [UInt8] {
        var out: [UInt8] = []
        out.appendU16(flags)
        out.append(`protocol`)
        out.append(algorithm)
        out.append(contentsOf: publicKey)
        return out
    }

    /// The key tag (RFC 4034 Appendix B) over this RDATA exactly as it stands: the same public key
    /// has a different tag under other flags.
    public var keyTag: UInt16 { Self.keyTag(rdata: rdata) }

    /// RFC 4034 Appendix B checksum (not for algorithm 1, which SIG(0) does not use).
    public static func keyTag(rdata: [UInt8]) -> UInt16 {
        var accumulator: UInt32 = 0
        for (index, byte) in rdata.enumerated() {
            accumulator &+= (index & 1) == 0 ? UInt32(byte) << 8 : UInt32(byte)
        }
        accumulator &+= (accumulator >> 16) & 0xFFFF
        return UInt16(accumulator & 0xFFFF)
    }

    /// SHA-256 of the KEY RDATA exactly as published: what tells two keys apart where the 16-bit
    /// key tag cannot (RFC 4034 Appendix B tags collide, and anyone can make a key with a chosen
    /// tag in seconds). DESIGN.md: a key is identified by its RDATA, never by its tag alone.
    public static func digest(rdata: [UInt8]) -> [UInt8] { SHA256.digest(rdata) }

    /// A/C = 11: "no key" (RFC 2535 §3.1.2), which cannot verify anything.
    public var isNoKey: Bool { flags & 0xC000 == 0xC000 }
}

/// SIG RDATA (RFC 2535 §4.1, RFC 2931 §3): the fields of a SIG(0) record.
public struct SIGData: Sendable, Hashable {
    /// 0 for SIG(0).
    public var typeCovered: RRType
    public var algorithm: UInt8
    /// 0 for SIG(0).
    public var labels: UInt8
    public var originalTTL: UInt32
    public var expiration: UInt32
    public var inception: UInt32
    public var keyTag: UInt16
    /// Uncompressed, in the case it was sent (RFC 2931 §3.1 signs it as is).
    public var signerName: DomainName
    public var signature: [UInt8]

    public init(
        typeCovered: RRType = RRType(0), algorithm: UInt8, labels: UInt8 = 0, originalTTL: UInt32 = 0, expiration: UInt32, inception: UInt32, keyTag: UInt16,
        signerName: DomainName, signature: [UInt8]
    ) {
        self.typeCovered = typeCovered
        self.algorithm = algorithm
        self.labels = labels
        self.originalTTL = originalTTL
        self.expiration = expiration
        self.inception = inception
        self.keyTag = keyTag
        self.signerName = signerName
        self.signature = signature
    }

    /// Decodes SIG RDATA; the signer's name must not be compressed.
    public init(rdata: [UInt8]) throws {
        var reader = WireReader(rdata)
        typeCovered = RRType(try reader.u16())
        algorithm = try reader.u8()
        labels = try reader.u8()
        originalTTL = try reader.u32()
        expiration = try reader.u32()
        inception = try reader.u32()
        keyTag = try reader.u16()
        signerName = try reader.uncompressedName(what: "SIG signer name")
        signature = try reader.take(reader.remaining)
    }

    /// The RDATA without the signature: what RFC 2931 §3.1 puts first in the signed data.
    public var rdataWithoutSignature: [UInt8] {
        var out: [UInt8] = []
        out.appendU16(typeCovered.rawValue)
        out.append(algorithm)
        out.append(labels)
        out.appendU32(originalTTL)
        out.appendU32(expiration)
        out.appendU32(inception)
        out.appendU16(keyTag)
        out.append(contentsOf: signerName.wire)
        return out
    }

    public var rdata: [UInt8] { rdataWithoutSignature + signature }
}
