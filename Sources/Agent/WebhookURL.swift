import Foundation

/// The `events.webhook` address: `http://` to a loopback address literal — 127.0.0.0/8 or
/// `[::1]` — with an optional port (default 80) and path (default `/`), as RFC 3986 §3 spells a
/// URL. Anything that could send the events off this host (another address, a host name, which
/// would go through the resolver) is refused with what to write instead.
public struct WebhookURL: Sendable, Hashable, CustomStringConvertible {
    /// `127.0.0.1` or `::1` (as written).
    public let host: String
    public let port: Int
    /// The path and query, starting with `/`.
    public let path: String

    /// Why a text is not a webhook address.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws {
        func refuse(_ why: String) -> Refusal { Refusal(description: "\"\(text)\": \(why)") }
        guard let schemeEnd = text.range(of: "://") else {
            throw refuse("not a URL: write http://127.0.0.1:PORT/PATH (or http://[::1]:PORT/PATH)")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" else {
            throw refuse(
                scheme == "https"
                    ? "https is not offered: the webhook must be on this host, so write http://127.0.0.1:PORT/PATH"
                    : "only http:// is supported, to 127.0.0.1 or [::1]")
        }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = String(rest[..<authorityEnd])
        var path = String(rest[authorityEnd...])
        guard !path.contains("#") else { throw refuse("a fragment (#…) is never sent to the server: leave it out") }
        guard path.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw refuse("the path must be printable ASCII without spaces (percent-encode anything else)")
        }
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        guard !authority.contains("@") else { throw refuse("user information (…@) is not supported") }

        var host: String
        var portText: String?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw refuse("an IPv6 address needs its closing ]") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw refuse("only :PORT may follow the ] of the address") }
                portText = String(after.dropFirst())
            }
            var address = in6_addr()
            guard inet_pton(AF_INET6, host, &address) == 1 else { throw refuse("[\(host)] is not an IPv6 address") }
            let loopback = [UInt8](repeating: 0, count: 15) + [1]
            guard withUnsafeBytes(of: &address, { Array($0) }) == loopback else {
                throw refuse("[\(host)] is not the loopback address: events are only sent to this host (127.0.0.0/8 or [::1])")
            }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                portText = String(authority[authority.index(after: colon)...])
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw refuse("the host is missing: write http://127.0.0.1:PORT/PATH") }
            var address = in_addr()
            guard inet_pton(AF_INET, host, &address) == 1 else {
                throw refuse("\"\(host)\" is not an address literal (names are not resolved): write 127.0.0.1 or [::1]")
            }
            guard withUnsafeBytes(of: &address, { $0[0] }) == 127 else {
                throw refuse("\(host) is not a loopback address: events are only sent to this host (127.0.0.0/8 or [::1])")
            }
        }
        var port = 80
        if let portText {
            guard portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(portText), (1...65535).contains(value) else {
                throw refuse("the port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = value
        }
        self.host = host
        self.port = port
        self.path = path
    }

    /// The `Host` header's value (RFC 9110 §7.2).
    var hostHeader: String { (host.contains(":") ? "[\(host)]" : host) + (port == 80 ? "" : ":\(port)") }

    public var description: String { "http://\(hostHeader)\(path)" }
}
