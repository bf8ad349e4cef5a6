import DNSWire

/// One authoritative server as the readers ask it: the NS name it stands for (`nil` when it
/// was configured by address only) and one of its addresses.
public struct AuthoritativeServer: Sendable, Hashable, CustomStringConvertible {
    public var name: DomainName?
    public var address: NameserverAddress

    public init(name: DomainName? = nil, address: NameserverAddress) {
        self.name = name
        self.address = address
    }

    /// `ns1.child.parent. at 192.0.2.1`, or the address alone.
    public var description: String {
        guard let name else { return address.description }
        return "\(name) at \(address)"
    }
}
