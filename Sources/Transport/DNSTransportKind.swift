/// The transport a DNS message came over or goes out on.
public enum DNSTransportKind: String, Sendable, Hashable, Codable, CustomStringConvertible {
    case udp
    case tcp
    public var description: String { rawValue }
}

/// RFC 1035 §4.2.2 / RFC 7766 §8: over TCP each message is preceded by its length in two octets.
public enum TCPFraming {
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }
}
