/// CSYNC RDATA (RFC 7477 §2.1): the SOA serial, flags, and the types the parent should copy, as
/// an NSEC-style type bit map (RFC 4034 §4.1.2).
public struct CSYNCData: Sendable, Hashable, CustomStringConvertible {
    public var soaSerial: UInt32
    public var flags: UInt16
    /// The types of the bit map, in ascending order.
    public var types: [RRType]

    /// Flag bit 0, `immediate` (RFC 7477 §2.1.1.1): the parent may act without waiting for the
    /// zone administrator's approval.
    public static let immediate: UInt16 = 0x0001
    /// Flag bit 1, `soaminimum` (RFC 7477 §2.1.1.2): act only when the served SOA serial is at
    /// least ``soaSerial``.
    public static let soaMinimum: UInt16 = 0x0002
    /// The flags RFC 7477 defines; any other set bit forbids processing (§2.1.1).
    public static let knownFlags: UInt16 = immediate | soaMinimum

    public var isImmediate: Bool { flags & Self.immediate != 0 }
    public var requiresSOAMinimum: Bool { flags & Self.soaMinimum != 0 }

    public init(soaSerial: UInt32, flags: UInt16, types: [RRType]) {
        self.soaSerial = soaSerial
        self.flags = flags
        self.types = Array(Set(types)).sorted()
    }

    /// Decodes RDATA: serial, flags, then windows of (number, length 1–32, bitmap) in ascending
    /// window order (RFC 4034 §4.1.2). Throws for anything else.
    public init(rdata: [UInt8]) throws {
        var reader = WireReader(rdata)
        soaSerial = try reader.u32()
        flags = try reader.u16()
        let types = try TypeBitmap.read(&reader, in: "CSYNC")
        self.types = types
    }

    public var rdata: [UInt8] {
        var out: [UInt8] = []
        out.appendU32(soaSerial)
        out.appendU16(flags)
        TypeBitmap.write(types, into: &out)
        return out
    }

    /// `2026010101 3 A NS AAAA`: serial, flags, types (RFC 7477 §2.2).
    public var description: String {
        "\(soaSerial) \(flags)" + types.map { " \($0)" }.joined()
    }
}

/// The fields of SOA RDATA (RFC 1035 §3.3.13) a parent reads from a child: the serial.
public enum SOAData {
    /// The SERIAL of SOA RDATA (after MNAME and RNAME, which are not compressed in RDATA as ldns
    /// hands it over).
    public static func serial(rdata: [UInt8]) throws -> UInt32 {
        var reader = WireReader(rdata)
        _ = try reader.uncompressedName(what: "SOA MNAME")
        _ = try reader.uncompressedName(what: "SOA RNAME")
        return try reader.u32()
    }

    /// RFC 1982 serial number arithmetic: whether `a` is at least `b` (equal, or greater in the
    /// 32-bit sequence space).
    public static func serial(_ a: UInt32, isAtLeast b: UInt32) -> Bool {
        a == b || (a &- b) < 0x8000_0000
    }
}
