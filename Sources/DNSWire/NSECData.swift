/// The type bit map of NSEC, NSEC3 and CSYNC RDATA (RFC 4034 §4.1.2): windows of (number,
/// length 1–32, bitmap) in ascending window order.
enum TypeBitmap {
    /// Reads the bit map that fills the rest of `reader`; throws for anything malformed.
    static func read(_ reader: inout WireReader, in what: String) throws -> [RRType] {
        var types: [RRType] = []
        var previousWindow = -1
        while reader.remaining > 0 {
            let window = Int(try reader.u8())
            let length = Int(try reader.u8())
            guard window > previousWindow, (1...32).contains(length) else {
                throw DNSWireError(.badRdata, "\(what) type bit map: window \(window) of length \(length) (RFC 4034 §4.1.2)")
            }
            previousWindow = window
            for (index, byte) in try reader.take(length).enumerated() {
                for bit in 0..<8 where byte & (0x80 >> bit) != 0 {
                    types.append(RRType(UInt16(window << 8 | index * 8 + bit)))
                }
            }
        }
        return types
    }

    static func write(_ types: [RRType], into out: inout [UInt8]) {
        let windows = Dictionary(grouping: types, by: { Int($0.rawValue >> 8) })
        for window in windows.keys.sorted() {
            var bitmap = [UInt8](repeating: 0, count: 32)
            for type in windows[window]! {
                let low = Int(type.rawValue & 0xFF)
                bitmap[low / 8] |= 0x80 >> (low % 8)
            }
            while bitmap.last == 0 { bitmap.removeLast() }
            out.append(UInt8(window))
            out.append(UInt8(bitmap.count))
            out.append(contentsOf: bitmap)
        }
    }
}

/// NSEC RDATA (RFC 4034 §4.1): the next owner name in canonical order and the types at the
/// owner.
public struct NSECData: Sendable, Hashable {
    public var nextName: DomainName
    public var types: [RRType]

    public init(nextName: DomainName, types: [RRType]) {
        self.nextName = nextName
        self.types = Array(Set(types)).sorted()
    }

    public init(rdata: [UInt8]) throws {
        var reader = WireReader(rdata)
        nextName = try reader.uncompressedName(what: "NSEC next domain name")
        types = try TypeBitmap.read(&reader, in: "NSEC")
    }

    public var rdata: [UInt8] {
        var out = nextName.wire
        TypeBitmap.write(types, into: &out)
        return out
    }
}

/// NSEC3 RDATA (RFC 5155 §3.2): hash algorithm, flags (bit 0 opt-out), iterations, salt, the
/// next hashed owner name (raw hash octets) and the types at the original owner.
public struct NSEC3Data: Sendable, Hashable {
    public var hashAlgorithm: UInt8
    public var flags: UInt8
    public var iterations: UInt16
    public var salt: [UInt8]
    public var nextHashedOwner: [UInt8]
    public var types: [RRType]

    /// RFC 5155 §3.1.2.1: the Opt-Out flag.
    public static let optOut: UInt8 = 0x01

    public var isOptOut: Bool { flags & Self.optOut != 0 }

    public init(hashAlgorithm: UInt8 = 1, flags: UInt8 = 0, iterations: UInt16 = 0, salt: [UInt8] = [], nextHashedOwner: [UInt8], types: [RRType]) {
        self.hashAlgorithm = hashAlgorithm
        self.flags = flags
        self.iterations = iterations
        self.salt = salt
        self.nextHashedOwner = nextHashedOwner
        self.types = Array(Set(types)).sorted()
    }

    public init(rdata: [UInt8]) throws {
        var reader = WireReader(rdata)
        hashAlgorithm = try reader.u8()
        flags = try reader.u8()
        iterations = try reader.u16()
        salt = try reader.take(Int(try reader.u8()))
        let length = Int(try reader.u8())
        guard length > 0 else { throw DNSWireError(.badRdata, "NSEC3 with an empty next hashed owner name (RFC 5155 §3.2)") }
        nextHashedOwner = try reader.take(length)
        types = try TypeBitmap.read(&reader, in: "NSEC3")
    }

    public var rdata: [UInt8] {
        var out: [UInt8] = [hashAlgorithm, flags, UInt8(iterations >> 8), UInt8(iterations & 0xFF), UInt8(salt.count)] + salt
        out.append(UInt8(nextHashedOwner.count))
        out += nextHashedOwner
        TypeBitmap.write(types, into: &out)
        return out
    }

    /// RFC 5155 §5: IH(salt, x, 0) = H(x || salt), IH(salt, x, k) = H(IH(salt, x, k-1) || salt),
    /// over the name in canonical (lower-case) wire form; SHA-1 (algorithm 1) only.
    public static func hash(_ name: DomainName, iterations: UInt16, salt: [UInt8]) -> [UInt8] {
        var digest = SHA1.digest(name.lowercased.wire + salt)
        for _ in 0..<Int(iterations) { digest = SHA1.digest(digest + salt) }
        return digest
    }

    /// The owner label of a hash: Base32 with the extended hex alphabet, no padding (RFC 4648
    /// §7, RFC 5155 §3.3), lower case.
    public static func base32Hex(_ bytes: [UInt8]) -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuv")
        var out = ""
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return out
    }

    /// The hash an owner label spells in Base32hex; nil for anything else.
    public static func hash(fromLabel label: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0
        var bits = 0
        for character in label {
            let value: Int
            switch character | 0x20 {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(character - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "v"): value = Int((character | 0x20) - UInt8(ascii: "a")) + 10
            default: return nil
            }
            buffer = buffer << 5 | value
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out.isEmpty ? nil : out
    }
}
