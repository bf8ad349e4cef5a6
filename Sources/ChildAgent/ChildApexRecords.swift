import DNSWire

/// What every authoritative server of a child zone agrees its apex holds: the records a
/// delegation is computed from (NS and in-bailiwick glue for RFC 7477-style NS sync, CDS and
/// CDNSKEY for RFC 7344/8078 DS sync, DNSKEY to check them against, KEY for SIG(0), the DDNS
/// draft). Plain records, TTLs as the first agreeing server gave them, sorted by owner, type
/// and RDATA; an empty list is an absent RRset.
public struct ChildApexRecords: Sendable, Hashable {
    public var child: DomainName
    /// The servers asked; all answered authoritatively with this data.
    public var servers: [AuthoritativeServer]
    /// The NS RRset at the apex.
    public var ns: [Record]
    /// A and AAAA of the NS names at or below the child (the glue the parent needs, RFC 9471).
    public var glue: [Record]
    public var dnskey: [Record]
    public var cds: [Record]
    public var cdnskey: [Record]
    /// The KEY RRset at the apex (the child's SIG(0) key(s)).
    public var key: [Record]

    public init(
        child: DomainName, servers: [AuthoritativeServer], ns: [Record], glue: [Record], dnskey: [Record], cds: [Record], cdnskey: [Record], key: [Record]
    ) {
        self.child = child
        self.servers = servers
        self.ns = ns
        self.glue = glue
        self.dnskey = dnskey
        self.cds = cds
        self.cdnskey = cdnskey
        self.key = key
    }

    /// Every record, NS first, then glue, DNSKEY, CDS, CDNSKEY and KEY.
    public var records: [Record] { ns + glue + dnskey + cds + cdnskey + key }

    /// The records of one type (A and AAAA are the glue).
    public func records(_ type: RRType) -> [Record] {
        records.filter { $0.type == type }
    }

    /// The NS names at or below the child, in canonical order: the names that need glue.
    public var inBailiwickNameservers: [DomainName] {
        ns.compactMap { try? DomainName.read(from: $0.rdata, at: 0).name }.filter { $0.isSubdomain(of: child) }.sorted()
    }
}
