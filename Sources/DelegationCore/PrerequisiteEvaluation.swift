import DNSWire

extension DelegationSnapshot {
    /// The RDATAs the snapshot holds for (name, type), names lower-cased (RFC 4343 comparisons).
    public func rdatas(_ name: DomainName, _ type: RRType) -> Set<[UInt8]> {
        switch type {
        case .ns where name == child: Set(nameservers.map(\.lowercased.wire))
        case .ds where name == child: ds
        case .key where name == child: keys
        case .a, .aaaa: Set((glue[name] ?? []).filter { $0.type == type }.map(\.rdata))
        default: []
        }
    }

    /// Whether any tracked record stands at `name`.
    public func nameInUse(_ name: DomainName) -> Bool {
        [RRType.ns, .ds, .key, .a, .aaaa].contains { !rdatas(name, $0).isEmpty }
    }

    /// Evaluates RFC 2136 §3.2 prerequisites against the delegation; returns the RCODE of the
    /// first one that fails (§3.2.5 table), or `nil` when all hold. Only names at or below the
    /// child are meaningful here (PrerequisiteScopePolicy refuses others first).
    public func evaluate(_ prerequisites: [Update.Prerequisite]) -> RCode? {
        var valueDependent: [RRsetKey: Set<[UInt8]>] = [:]
        for prerequisite in prerequisites {
            switch prerequisite {
            case .rrsetExists(let name, let type):
                if rdatas(name, type).isEmpty { return .nxRRset }
            case .rrsetDoesNotExist(let name, let type):
                if !rdatas(name, type).isEmpty { return .yxRRset }
            case .nameInUse(let name):
                if !nameInUse(name) { return .nxDomain }
            case .nameNotInUse(let name):
                if nameInUse(name) { return .yxDomain }
            case .rrsetEquals(let record):
                let data = record.type == .ns ? ((try? DomainName.read(from: record.rdata, at: 0).name.lowercased.wire) ?? record.rdata) : record.rdata
                valueDependent[RRsetKey(name: record.name, type: record.type), default: []].insert(data)
            }
        }
        for (key, wanted) in valueDependent where rdatas(key.name, key.type) != wanted {
            return .nxRRset
        }
        return nil
    }

    struct RRsetKey: Hashable {
        let name: DomainName
        let type: RRType
    }
}
