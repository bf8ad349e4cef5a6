import DNSWire
import Foundation

/// Address literals as text, both ways, without resolving anything.
public enum IPAddressText {
    /// Whether `text` is an IPv4 or IPv6 address literal.
    public static func isValid(_ text: String) -> Bool {
        canonical(text) != nil
    }

    /// The address literal in one spelling (IPv6 as RFC 5952 §4 writes it, as a peer address is
    /// printed), so two spellings of one address compare equal; nil when `text` is none.
    public static func canonical(_ text: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return self.text(type: .a, rdata: withUnsafeBytes(of: &v4) { [UInt8]($0) }) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return self.text(type: .aaaa, rdata: withUnsafeBytes(of: &v6) { [UInt8]($0) }) }
        return nil
    }

    /// The address in A (RFC 1035 §3.4.1) or AAAA (RFC 3596 §2.2) RDATA as text, IPv6 in
    /// RFC 5952 form; nil for other types or RDATA of the wrong length.
    public static func text(type: RRType, rdata: [UInt8]) -> String? {
        switch type {
        case .a where rdata.count == 4:
            return rdata.map(String.init).joined(separator: ".")
        case .aaaa where rdata.count == 16:
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: rdata) }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        default:
            return nil
        }
    }
}
