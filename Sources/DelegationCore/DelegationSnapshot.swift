import DNSWire

/// What the parent zone holds for one delegation: the NS RRset at the child apex, the DS RRset,
/// KEY records the agent published there, and glue (A/AAAA) at names at or below the child.
///
/// Values only: the Transport layer reads it from the parent's primary, the policy reasons about
/// it, and ``applying(_:)`` computes what an UPDATE would leave behind (RFC 2136 §3.4.2 semantics
/// restricted to the delegation's records).
public struct DelegationSnapshot: Sendable, Hashable {
    public var child: DomainName
    /// NS targets at the child apex.
    public var nameservers: Set<DomainName>
    /// DS RDATAs at the child apex (RFC 4034 §5.1).
    public var ds: Set<[UInt8]>
    /// KEY RDATAs at the child apex.
    public var keys: Set<[UInt8]>
    /// Glue: A and AAAA RDATAs by owner name (at or below the child).
    public var glue: [DomainName: Set<GlueAddress>]

    /// One glue address record's type and RDATA.
    public struct GlueAddress: Sendable, Hashable {
        public var type: RRType
        public var rdata: [UInt8]
        public init(type: RRType, rdata: [UInt8]) {
            self.type = type
            self.rdata = rdata
        }
    }

    public init(
        child: DomainName, nameservers: Set<DomainName> = [], ds: Set<[UInt8]> = [], keys: Set<[UInt8]> = [], glue: [DomainName: Set<GlueAddress>] = [:]
    ) {
        self.child = child
        self.nameservers = nameservers
        self.ds = ds
        self.keys = keys
        self.glue = glue.filter { !$0.value.isEmpty }
    }

    /// Builds a snapshot from the parent's records at and below the child (anything else is
    /// ignored). Throws when an NS RDATA is not a name.
    public init(child: DomainName, records: [Record]) throws {
        self.init(child: child)
        for record in records where record.name.isSubdomain(of: child) {
            try insert(record)
        }
    }

    mutating func insert(_ record: Record) throws {
        switch record.type {
        case .ns where record.name == child:
            nameservers.insert(try DomainName.read(from: record.rdata, at: 0).name)
        case .ds where record.name == child:
            ds.insert(record.rdata)
        case .key where record.name == child:
            keys.insert(record.rdata)
        case .a, .aaaa:
            glue[record.name, default: []].insert(GlueAddress(type: record.type, rdata: record.rdata))
        default:
            break
        }
    }

    mutating func remove(_ record: Record) throws {
        switch record.type {
        case .ns where record.name == child:
            nameservers.remove(try DomainName.read(from: record.rdata, at: 0).name)
        case .ds where record.name == child:
            ds.remove(record.rdata)
        case .key where record.name == child:
            keys.remove(record.rdata)
        case .a, .aaaa:
            glue[record.name]?.remove(GlueAddress(type: record.type, rdata: record.rdata))
            if glue[record.name]?.isEmpty == true { glue[record.name] = nil }
        default:
            break
        }
    }

    /// The snapshot after `operations` (RFC 2136 §2.5 semantics), for the records it tracks.
    public func applying(_ operations: [Update.Operation]) throws -> DelegationSnapshot {
        var result = self
        for operation in operations {
            switch operation {
            case .add(let record):
                try result.insert(record)
            case .delete(let record):
                try result.remove(record)
            case .deleteRRset(let name, let type):
                result.removeRRset(name, type)
            case .deleteName(let name):
                for type in [RRType.ns, .ds, .key, .a, .aaaa] { result.removeRRset(name, type) }
            }
        }
        return result
    }

    mutating func removeRRset(_ name: DomainName, _ type: RRType) {
        switch type {
        case .ns where name == child: nameservers = []
        case .ds where name == child: ds = []
        case .key where name == child: keys = []
        case .a, .aaaa:
            glue[name] = glue[name]?.filter { $0.type != type }
            if glue[name]?.isEmpty == true { glue[name] = nil }
        default: break
        }
    }

    /// The snapshot without KEY records: what every parent server type shows of a delegation.
    /// KEY at a zone cut is occluded data (RFC 2181 §6); BIND answers it, Knot and NSD do not,
    /// so a check that the primary serves a change must not depend on it.
    public var withoutKeys: DelegationSnapshot {
        var copy = self
        copy.keys = []
        return copy
    }

    /// NS targets at or below the child: the names that need glue (RFC 9471 in-bailiwick).
    public var inBailiwickNameservers: Set<DomainName> {
        nameservers.filter { $0.isSubdomain(of: child) }
    }
}
