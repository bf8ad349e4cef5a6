/// Reads big-endian integers from a byte array with bounds checks.
struct WireReader {
    let bytes: [UInt8]
    var position: Int

    init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    mutating func u8() throws -> UInt8 {
        guard position < bytes.count else { throw DNSWireError(.truncated, "data ends at offset \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16() throws -> UInt16 {
        guard position + 2 <= bytes.count else { throw DNSWireError(.truncated, "data ends at offset \(position)") }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func u32() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw DNSWireError(.truncated, "data ends at offset \(position)") }
        defer { position += 4 }
        return UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16
            | UInt32(bytes[position + 2]) << 8 | UInt32(bytes[position + 3])
    }

    mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, position + count <= bytes.count else {
            throw DNSWireError(.truncated, "\(count) octets wanted at offset \(position), \(remaining) left")
        }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// A name that must stand uncompressed (RFC 3597 §4 for new types, RFC 2931 §3.1 for the
    /// SIG(0) signer): a pointer is an error, not something to follow.
    mutating func uncompressedName(what: String) throws -> DomainName {
        var i = position
        while i < bytes.count, bytes[i] != 0 {
            guard bytes[i] & 0xC0 == 0 else { throw DNSWireError(.badRdata, "\(what) must not be compressed") }
            i += Int(bytes[i]) + 1
        }
        return try name()
    }

    mutating func name() throws -> DomainName {
        let (name, next) = try DomainName.read(from: bytes, at: position)
        position = next
        return name
    }
}

extension Array where Element == UInt8 {
    mutating func appendU16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }

    mutating func appendU32(_ value: UInt32) {
        append(UInt8(value >> 24))
        append(UInt8((value >> 16) & 0xFF))
        append(UInt8((value >> 8) & 0xFF))
        append(UInt8(value & 0xFF))
    }

    /// Lower-case hexadecimal, no separators.
    public var hexString: String {
        var out = ""
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
        return out
    }

    /// Bytes from hexadecimal text; white space is ignored. `nil` when the text is not hex.
    public init?(hex text: some StringProtocol) {
        var bytes: [UInt8] = []
        var high: UInt8? = nil
        for scalar in text.unicodeScalars {
            if scalar == " " || scalar == "\n" || scalar == "\t" || scalar == "\r" { continue }
            guard let nibble = UInt8(String(scalar), radix: 16) else { return nil }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil else { return nil }
        self = bytes
    }
}

private let hexDigits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
