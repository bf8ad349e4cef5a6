import DNSWire

/// Which key, exactly: the parent zone, the child (the KEY's owner and SIG(0) signer), the
/// algorithm, the key tag and the SHA-256 digest of the KEY RDATA.
///
/// The key tag (RFC 4034 Appendix B) is a 16-bit checksum: a key with any chosen tag takes
/// seconds to make, so a tag never names a key on its own (DESIGN.md, "Who attacks"). Every
/// trust decision — trust, revoke, reject, supersede, promote, replay state, queued changes —
/// names a key by this identity. The digest decides equality; zone and child scope it.
///
/// The text form is what the CLI prints and accepts: `child.parent. 15/12345 sha256:ab12…`
/// (the digest in full, 64 hex digits; an operator may type any unique prefix of 8 or more).
public struct KeyIdentity: Sendable, Hashable, CustomStringConvertible {
    public let zone: DomainName
    public let child: DomainName
    public let algorithm: UInt8
    public let keyTag: UInt16
    /// SHA-256 of the KEY RDATA (``KEYData/digest(rdata:)``).
    public let digest: [UInt8]

    public init(zone: DomainName, child: DomainName, rdata: [UInt8]) {
        self.zone = zone
        self.child = child
        self.algorithm = rdata.count > 3 ? rdata[3] : 0
        self.keyTag = KEYData.keyTag(rdata: rdata)
        self.digest = KEYData.digest(rdata: rdata)
    }

    /// From stored fields (the digest as read back); for the store.
    public init(zone: DomainName, child: DomainName, algorithm: UInt8, keyTag: UInt16, digest: [UInt8]) {
        self.zone = zone
        self.child = child
        self.algorithm = algorithm
        self.keyTag = keyTag
        self.digest = digest
    }

    /// `sha256:` and the digest as 64 lower-case hex digits.
    public var digestText: String { "sha256:" + digest.hexString }

    /// `15/12345 sha256:…`: the key without its child and zone.
    public var keyText: String { "\(algorithm)/\(keyTag) \(digestText)" }

    /// `child.parent. 15/12345 sha256:…`
    public var description: String { "\(child) \(keyText)" }

    /// Whether `text` (`sha256:ab12cd34…`, or the hex digits alone, any case) is a prefix of the
    /// digest of at least 8 hex digits.
    public func matches(digestPrefix text: String) -> Bool {
        guard let prefix = Self.digestPrefix(text) else { return false }
        return digest.hexString.hasPrefix(prefix)
    }

    /// The hex digits of a digest prefix as an operator types it, lower-cased; nil unless it is
    /// 8 to 64 hex digits, with or without `sha256:`.
    public static func digestPrefix(_ text: String) -> String? {
        var hex = text.lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst("sha256:".count) }
        guard (8...64).contains(hex.count), hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        return hex
    }
}
