import DNSWire

extension Message {
    /// The records of `type` that answer `name`: at `name` itself or at the end of a CNAME chain
    /// starting there (RFC 1034 §3.6.2, §4.3.2), as a resolver puts them in the answer section.
    /// Chains longer than 8 links are not followed further.
    func answers(_ name: DomainName, _ type: RRType) -> [Record] {
        var chain: [DomainName] = [name]
        var owner = name
        while chain.count <= 8, type != .cname,
            let alias = answer.first(where: { $0.type == .cname && $0.name == owner }),
            let target = try? DomainName.read(from: alias.rdata, at: 0).name, !chain.contains(target)
        {
            chain.append(target)
            owner = target
        }
        return answer.filter { $0.type == type && chain.contains($0.name) }
    }

    /// The owner of the SOA in the authority section: the zone a negative answer comes from
    /// (RFC 2308 §3).
    var negativeAnswerZone: DomainName? {
        authority.first { $0.type == .soa }?.name
    }
}
