import DNSWire

/// Where a child sends its UPDATEs: the parent zone (the UPDATE's zone section, RFC 2136 §2.3),
/// the receiver's name, port and addresses, and how they were found — by DSYNC discovery
/// (RFC 9859 §4.1, ``DSYNCDiscovery``) or from configuration, which bypasses it.
public struct DSYNCTarget: Sendable, Hashable, CustomStringConvertible {
    /// The zone the child is delegated from.
    public var parent: DomainName
    /// The DSYNC record chosen (its owner is where it was found); `nil` when configured.
    public var record: Record?
    /// The receiver's name (the DSYNC target); `nil` when configured by address only.
    public var target: DomainName?
    public var port: UInt16
    /// Address literals of the target, IPv4 first, each list sorted.
    public var addresses: [String]
    /// The queries made on the way, in order (empty when configured by address).
    public var steps: [DiscoveryStep]
    /// What DNSSEC validation said of the DSYNC answer (`dsync-validation`); nil without it.
    public var dnssec: String? = nil

    public init(parent: DomainName, record: Record?, target: DomainName?, port: UInt16, addresses: [String], steps: [DiscoveryStep]) {
        self.parent = parent
        self.record = record
        self.target = target
        self.port = port
        self.addresses = addresses
        self.steps = steps
    }

    /// A receiver given in the configuration: no discovery, no lookups. To configure a name
    /// instead of addresses, use ``DSYNCDiscovery/configuredTarget(parent:target:port:)``,
    /// which resolves it.
    public static func configured(parent: DomainName, target: DomainName? = nil, port: UInt16, addresses: [String]) -> DSYNCTarget {
        DSYNCTarget(parent: parent, record: nil, target: target, port: port, addresses: addresses, steps: [])
    }

    /// Whether the target came from a DSYNC record (as opposed to configuration).
    public var isDiscovered: Bool { record != nil }

    /// Where the DSYNC record was found (`child._dsync.parent.`, `*._dsync.parent.` answers
    /// for the former), or `nil` when configured.
    public var owner: DomainName? { record?.name }

    /// The DSYNC RDATA of ``record``.
    public var dsync: DSYNCData? { record.flatMap { try? DSYNCData(rdata: $0.rdata) } }

    /// Every address on ``port``: what the UPDATE client tries, in this order.
    public var endpoints: [NameserverAddress] { addresses.map { NameserverAddress($0, port: Int(port)) } }

    /// `updater.parent. port 5302 (192.0.2.1, 2001:db8::1) for zone parent., from DSYNC at child._dsync.parent.`
    public var description: String {
        let who = target.map { "\($0) port \(port)" } ?? "port \(port)"
        let origin = owner.map { "from DSYNC at \($0)" } ?? "configured"
        return "\(who) (\(addresses.joined(separator: ", "))) for zone \(parent), \(origin)" + (dnssec.map { ", DNSSEC \($0)" } ?? "")
    }
}
