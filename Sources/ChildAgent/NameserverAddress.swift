import DaemonSupport
import DNSWire
import Foundation

/// Where a DNS query goes: an IPv4 or IPv6 address literal and a port (53 unless configured
/// otherwise). Used for resolvers, the child's and the parent's authoritative servers, and the
/// UPDATE receiver a DSYNC record names (RFC 9859 §2.1: target and port).
public struct NameserverAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// An address literal (`192.0.2.1`, `2001:db8::1`), never a name: nothing here resolves names
    /// through the system resolver.
    public var host: String
    public var port: Int

    public init(_ host: String, port: Int = 53) {
        self.host = host
        self.port = port
    }

    /// The address an A (RFC 1035 §3.4.1) or AAAA (RFC 3596 §2.2) record holds, on `port`;
    /// `nil` for other types or RDATA of the wrong length.
    public init?(record: Record, port: Int = 53) {
        guard let text = Self.addressText(record) else { return nil }
        self.init(text, port: port)
    }

    /// Whether `text` is an IPv4 or IPv6 address literal.
    public static func isAddressLiteral(_ text: String) -> Bool { IPAddressText.isValid(text) }

    /// The address in an A or AAAA record as text (RFC 5952 for IPv6), or `nil`.
    public static func addressText(_ record: Record) -> String? { IPAddressText.text(type: record.type, rdata: record.rdata) }

    /// `192.0.2.1` on port 53, `192.0.2.1:5353` or `[2001:db8::1]:5353` otherwise.
    public var description: String {
        if port == 53 { return host }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func < (lhs: NameserverAddress, rhs: NameserverAddress) -> Bool {
        (lhs.host, lhs.port) < (rhs.host, rhs.port)
    }
}
