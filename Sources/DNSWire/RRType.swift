/// A resource record TYPE (RFC 1035 §3.2.2). Open: any 16-bit value is a type, and types this
/// table does not name print and parse as `TYPEnnn` (RFC 3597 §5).
public struct RRType: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = RRType(1)
    public static let ns = RRType(2)
    public static let cname = RRType(5)
    public static let soa = RRType(6)
    public static let ptr = RRType(12)
    public static let mx = RRType(15)
    public static let txt = RRType(16)
    /// SIG (RFC 2535 §4, RFC 2931 for SIG(0)).
    public static let sig = RRType(24)
    /// KEY (RFC 2535 §3, RFC 3445).
    public static let key = RRType(25)
    public static let aaaa = RRType(28)
    public static let srv = RRType(33)
    public static let dname = RRType(39)
    /// OPT pseudo-RR (RFC 6891).
    public static let opt = RRType(41)
    public static let ds = RRType(43)
    public static let rrsig = RRType(46)
    public static let nsec = RRType(47)
    public static let dnskey = RRType(48)
    public static let nsec3 = RRType(50)
    public static let nsec3param = RRType(51)
    /// CDS (RFC 7344).
    public static let cds = RRType(59)
    /// CDNSKEY (RFC 7344).
    public static let cdnskey = RRType(60)
    /// CSYNC (RFC 7477).
    public static let csync = RRType(62)
    public static let svcb = RRType(64)
    public static let https = RRType(65)
    /// DSYNC (RFC 9859 §2).
    public static let dsync = RRType(66)
    /// TSIG (RFC 8945).
    public static let tsig = RRType(250)
    public static let ixfr = RRType(251)
    public static let axfr = RRType(252)
    /// ANY, the QTYPE `*` (RFC 1035 §3.2.3); in UPDATE, "all RRsets" (RFC 2136 §2.5.3).
    public static let any = RRType(255)

    static let names: [(RRType, String)] = [
        (.a, "A"), (.ns, "NS"), (.cname, "CNAME"), (.soa, "SOA"), (.ptr, "PTR"), (.mx, "MX"),
        (.txt, "TXT"), (.sig, "SIG"), (.key, "KEY"), (.aaaa, "AAAA"), (.srv, "SRV"),
        (.dname, "DNAME"), (.opt, "OPT"), (.ds, "DS"), (.rrsig, "RRSIG"), (.nsec, "NSEC"),
        (.dnskey, "DNSKEY"), (.nsec3, "NSEC3"), (.nsec3param, "NSEC3PARAM"), (.cds, "CDS"),
        (.cdnskey, "CDNSKEY"), (.csync, "CSYNC"), (.svcb, "SVCB"), (.https, "HTTPS"),
        (.dsync, "DSYNC"), (.tsig, "TSIG"), (.ixfr, "IXFR"), (.axfr, "AXFR"), (.any, "ANY"),
    ]
    static let byValue: [UInt16: String] = Dictionary(uniqueKeysWithValues: names.map { ($0.0.rawValue, $0.1) })
    static let byName: [String: RRType] = Dictionary(uniqueKeysWithValues: names.map { ($0.1, $0.0) })

    /// The mnemonic, or `TYPEnnn` (RFC 3597 §5).
    public var description: String { Self.byValue[rawValue] ?? "TYPE\(rawValue)" }

    /// Parses a mnemonic (case-insensitive) or `TYPEnnn`.
    public init?(mnemonic: String) {
        let upper = mnemonic.uppercased()
        if let known = Self.byName[upper] {
            self = known
        } else if upper.hasPrefix("TYPE"), let value = UInt16(upper.dropFirst(4)) {
            self.init(value)
        } else {
            return nil
        }
    }

    public static func < (lhs: RRType, rhs: RRType) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A resource record CLASS (RFC 1035 §3.2.4), with the UPDATE meta-classes ANY and NONE
/// (RFC 2136 §2.4, §2.5). Open like ``RRType``: unknown values are `CLASSnnn` (RFC 3597 §5).
public struct RRClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let `in` = RRClass(1)
    public static let ch = RRClass(3)
    public static let hs = RRClass(4)
    /// NONE (RFC 2136 §2.4.3, §2.5.4).
    public static let none = RRClass(254)
    /// ANY (RFC 1035 §3.2.5; RFC 2136 §2.4.1, §2.5.2).
    public static let any = RRClass(255)

    static let names: [(RRClass, String)] = [(.in, "IN"), (.ch, "CH"), (.hs, "HS"), (.none, "NONE"), (.any, "ANY")]

    public var description: String {
        Self.names.first { $0.0 == self }?.1 ?? "CLASS\(rawValue)"
    }

    /// Parses a mnemonic (case-insensitive) or `CLASSnnn`.
    public init?(mnemonic: String) {
        let upper = mnemonic.uppercased()
        if let known = Self.names.first(where: { $0.1 == upper }) {
            self = known.0
        } else if upper.hasPrefix("CLASS"), let value = UInt16(upper.dropFirst(5)) {
            self.init(value)
        } else {
            return nil
        }
    }
}
