/// DSYNC RDATA (RFC 9859 §2.1): RRtype (16 bits), Scheme (8 bits), Port (16 bits), Target (an
/// uncompressed domain name). ldns 1.8 does not know the type, so this is our own codec.
public struct DSYNCData: Sendable, Hashable, CustomStringConvertible {
    /// Scheme values (RFC 9859 §5 registry; 2 = UPDATE per draft-ietf-dnsop-delegation-mgmt-via-ddns).
    public struct Scheme: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public init(_ rawValue: UInt8) { self.rawValue = rawValue }

        /// Reserved; RFC 9859 §4.1: records with scheme 0 are ignored.
        public static let reserved = Scheme(0)
        public static let notify = Scheme(1)
        /// Not yet assigned by IANA; the draft and tdns use 2.
        public static let update = Scheme(2)

        /// `NOTIFY`, `UPDATE`, or the number for anything else.
        public var description: String {
            switch rawValue {
            case 1: "NOTIFY"
            case 2: "UPDATE"
            default: String(rawValue)
            }
        }

        public init?(mnemonic: String) {
            switch mnemonic.uppercased() {
            case "NOTIFY": self = .notify
            case "UPDATE": self = .update
            default:
                guard let value = UInt8(mnemonic) else { return nil }
                self.init(value)
            }
        }
    }

    public var rrType: RRType
    public var scheme: Scheme
    public var port: UInt16
    public var target: DomainName

    public init(rrType: RRType, scheme: Scheme, port: UInt16, target: DomainName) {
        self.rrType = rrType
        self.scheme = scheme
        self.port = port
        self.target = target
    }

    /// Decodes RDATA; the target must fill it exactly and must not be compressed (RFC 9859 §2.1).
    public init(rdata: [UInt8]) throws {
        guard rdata.count >= 6 else { throw DNSWireError(.truncated, "DSYNC RDATA of \(rdata.count) octets") }
        var reader = WireReader(rdata)
        rrType = RRType(try reader.u16())
        scheme = Scheme(try reader.u8())
        port = try reader.u16()
        // RFC 9859 §2.1: the target is not compressed.
        target = try reader.uncompressedName(what: "DSYNC target")
        guard reader.remaining == 0 else { throw DNSWireError(.trailingData, "\(reader.remaining) octets after the DSYNC target") }
    }

    public var rdata: [UInt8] {
        var out: [UInt8] = []
        out.appendU16(rrType.rawValue)
        out.append(scheme.rawValue)
        out.appendU16(port)
        out.append(contentsOf: target.wire)
        return out
    }

    /// RFC 9859 §2.2: `<type mnemonic> <scheme> <port> <target>`.
    public init(presentation tokens: [String], origin: DomainName = .root) throws {
        guard tokens.count == 4 else {
            throw DNSWireError(.badPresentation, "DSYNC wants 4 fields (type scheme port target), got \(tokens.count)")
        }
        guard let type = RRType(mnemonic: tokens[0]) else { throw DNSWireError(.badPresentation, "DSYNC type \"\(tokens[0])\" unknown") }
        guard let scheme = Scheme(mnemonic: tokens[1]) else { throw DNSWireError(.badPresentation, "DSYNC scheme \"\(tokens[1])\" unknown") }
        guard let port = UInt16(tokens[2]) else { throw DNSWireError(.badPresentation, "DSYNC port \"\(tokens[2])\" is not 0–65535") }
        self.init(rrType: type, scheme: scheme, port: port, target: try DomainName(tokens[3], origin: origin))
    }

    public var description: String { "\(rrType) \(scheme) \(port) \(target)" }

    /// RFC 9859 §4.1: records with scheme 0 or port 0 are ignored by the child.
    public var isUsable: Bool { scheme != .reserved && port != 0 }
}
