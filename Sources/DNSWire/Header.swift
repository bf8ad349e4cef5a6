/// An OPCODE (RFC 1035 §4.1.1, RFC 1996 NOTIFY, RFC 2136 UPDATE).
public struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }
    public init(_ rawValue: UInt8) { self.init(rawValue: rawValue) }

    public static let query = Opcode(0)
    public static let status = Opcode(2)
    public static let notify = Opcode(4)
    public static let update = Opcode(5)

    public var description: String {
        switch self {
        case .query: "QUERY"
        case .status: "STATUS"
        case .notify: "NOTIFY"
        case .update: "UPDATE"
        default: "OPCODE\(rawValue)"
        }
    }
}

/// A response code, 12 bits wide with EDNS(0) (RFC 6891 §6.1.3): the low 4 bits travel in the
/// header, the high 8 in the OPT record. Values from 16 up (BADSIG, BADKEY, BADTIME) need OPT.
public struct RCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    public init(_ rawValue: UInt16) { self.init(rawValue: rawValue) }

    public static let noError = RCode(0)
    public static let formErr = RCode(1)
    public static let servFail = RCode(2)
    public static let nxDomain = RCode(3)
    public static let notImp = RCode(4)
    public static let refused = RCode(5)
    /// RFC 2136 §2.2.
    public static let yxDomain = RCode(6)
    public static let yxRRset = RCode(7)
    public static let nxRRset = RCode(8)
    public static let notAuth = RCode(9)
    public static let notZone = RCode(10)
    /// BADVERS (RFC 6891) and BADSIG (RFC 2845) share 16.
    public static let badSig = RCode(16)
    public static let badKey = RCode(17)
    public static let badTime = RCode(18)

    /// Whether the value can only be expressed with an OPT record.
    public var isExtended: Bool { rawValue > 15 }

    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 6: "YXDOMAIN"
        case 7: "YXRRSET"
        case 8: "NXRRSET"
        case 9: "NOTAUTH"
        case 10: "NOTZONE"
        case 16: "BADSIG"
        case 17: "BADKEY"
        case 18: "BADTIME"
        default: "RCODE\(rawValue)"
        }
    }
}

/// The DNS header (RFC 1035 §4.1.1) without the counts, which follow from the sections.
public struct Header: Sendable, Hashable {
    public var id: UInt16 = 0
    public var qr = false
    public var opcode = Opcode.query
    public var aa = false
    public var tc = false
    public var rd = false
    public var ra = false
    /// RFC 4035 §3.2.3.
    public var ad = false
    /// RFC 4035 §3.2.2.
    public var cd = false
    /// The low 4 bits of the RCODE while encoding or decoding; ``Message/rcode`` is the value
    /// (kept 0 outside the codec so equal messages have equal headers).
    var rcodeLow: UInt8 = 0

    public init() {}
}

/// A question (RFC 1035 §4.1.2); in an UPDATE, the zone (RFC 2136 §2.3).
public struct Question: Sendable, Hashable, CustomStringConvertible {
    public var name: DomainName
    public var type: RRType
    public var qclass: RRClass

    public init(name: DomainName, type: RRType, qclass: RRClass = .in) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }

    var wire: [UInt8] {
        var out = name.wire
        out.appendU16(type.rawValue)
        out.appendU16(qclass.rawValue)
        return out
    }

    public var description: String { ";\(name)\t\t\(qclass)\t\(type)" }
}
