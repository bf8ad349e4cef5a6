import Foundation

/// The prefix a source address belongs to for per-client limits: IPv4 /24, IPv6 /56 (the
/// sizes a single customer commonly gets, as response rate limiting in BIND counts them too).
public enum SourcePrefix {
    /// "192.0.2.0/24" or "2001:db8:0:ff00::/56"; an unparsable address is its own prefix.
    public static func of(_ address: String) -> String {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            let host = UInt32(bigEndian: v4.s_addr)
            return "\(host >> 24).\((host >> 16) & 0xFF).\((host >> 8) & 0xFF).0/24"
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            var bytes = withUnsafeBytes(of: &v6) { [UInt8]($0) }
            for index in 7..<16 { bytes[index] = 0 }
            var masked = in6_addr()
            withUnsafeMutableBytes(of: &masked) { $0.copyBytes(from: bytes) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &masked, &text, socklen_t(text.count)) != nil else { return address }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/56"
        }
        return address
    }
}
