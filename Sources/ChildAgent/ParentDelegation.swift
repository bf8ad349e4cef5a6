import DNSWire
import DelegationCore

/// The delegation of a child as the parent's authoritative servers serve it: the NS RRset at the
/// child (from the referral), glue at or below the child (from the referral's additional
/// section), the DS RRset and any KEY the parent publishes at the child. Plain records, in the
/// form ``DelegationSnapshot/init(child:records:)`` takes.
public struct ParentDelegation: Sendable, Hashable {
    public var parent: DomainName
    public var child: DomainName
    /// The servers asked; all served this data.
    public var servers: [AuthoritativeServer]
    /// NS, glue (A/AAAA), DS and KEY records, sorted by owner, type and RDATA.
    public var records: [Record]

    public init(parent: DomainName, child: DomainName, servers: [AuthoritativeServer], records: [Record]) {
        self.parent = parent
        self.child = child
        self.servers = servers
        self.records = records
    }

    /// Whether the parent delegates the child at all (an NS RRset at the child).
    public var isDelegated: Bool { records.contains { $0.type == .ns && $0.name == child } }

    /// The records of one type.
    public func records(_ type: RRType) -> [Record] { records.filter { $0.type == type } }

    /// The delegation as DelegationCore's value. Throws when an NS RDATA is not a name.
    public func snapshot() throws -> DelegationSnapshot {
        try DelegationSnapshot(child: child, records: records)
    }
}
