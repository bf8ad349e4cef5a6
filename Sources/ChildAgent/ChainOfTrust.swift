import DNSWire

/// DNSSEC validation of a resolver's answers by the child agent itself (RFC 4035 §5): from a
/// configured trust anchor down to the zone that answered, each zone's DNSKEY RRset
/// authenticated by the DS RRset its parent signs, each absent DS proven by NSEC/NSEC3 (an
/// insecure delegation: the zone below is not signed). The records come from the resolver with
/// DO and CD set, so it hands back what it has and the agent judges; the checks themselves are
/// ``DNSSECValidator``'s.
///
/// Used for DSYNC discovery (RFC 9859 §4.1), where a signed parent's answers — positive,
/// wildcard-synthesized or negative — must validate.
///
/// Limitations: no cache (every answer walks its chain again: DSYNC discovery asks a few names);
/// CNAME and DNAME answers are not followed (refused as bogus).
public struct ChainOfTrust: Sendable {
    public let anchor: TrustAnchor
    public let lookup: any DNSLookup
    public let resolver: NameserverAddress
    public let transport: LookupTransport
    /// The check time (Unix seconds).
    public let now: Int64

    public init(anchor: TrustAnchor, lookup: any DNSLookup, resolver: NameserverAddress, transport: LookupTransport = .udpThenTCP, now: Int64) {
        self.anchor = anchor
        self.lookup = lookup
        self.resolver = resolver
        self.transport = transport
        self.now = now
    }

    /// What validation found for an answer or a zone.
    public enum Verdict: Sendable, Hashable, CustomStringConvertible {
        case secure(String)
        /// Proven not signed (an insecure delegation between the anchor and the zone).
        case insecure(String)
        case bogus(String)

        public var description: String {
            switch self {
            case .secure(let text): "secure: \(text)"
            case .insecure(let text): "insecure: \(text)"
            case .bogus(let text): "bogus: \(text)"
            }
        }
    }

    /// The validated keys of a zone, or why there are none.
    enum ZoneKeys {
        case secure(AuthenticatedKeys)
        case insecure(String)
        case bogus(String)
    }

    /// The query flags: DO, and CD (the agent validates, the resolver must not filter).
    public static let flags = DNSSECQuery(dnssecOK: true, checkingDisabled: true)

    func ask(_ name: DomainName, _ type: RRType) async throws -> Message {
        try await lookup.query(name, type, server: resolver, recursionDesired: true, dnssec: Self.flags, transport: transport)
    }

    // MARK: Answers

    /// RFC 4035 §5.3, §5.4: `message` (the resolver's answer to `name` `type`) validated.
    /// Positive: the RRset's RRSIGs verify under the keys of the zone that signed it (a
    /// wildcard answer also needs its NSEC/NSEC3 proof). Negative (NXDOMAIN, NODATA): the
    /// NSEC/NSEC3 records of the authority section prove it. Insecure when the answering zone
    /// is proven unsigned; bogus otherwise.
    public func validate(_ message: Message, name: DomainName, type: RRType) async throws -> Verdict {
        if let set = SignedRRset(message.answer, name: name, type: type), message.rcode == .noError {
            return try await validatePositive(set, authority: message.authority, name: name)
        }
        if message.answer.contains(where: { $0.name == name && ($0.type == .cname || $0.type == .dname) }) {
            return .bogus("\(name) \(type) is answered by a CNAME or DNAME, which is not followed here")
        }
        return try await validateNegative(message, name: name, type: type)
    }

    func validatePositive(_ set: SignedRRset, authority: [Record], name: DomainName) async throws -> Verdict {
        guard let zone = SignedRRset.signerName(set.signatures) else {
            guard let zone = try await zone(of: name) else { return .bogus("\(set) is not signed, and no zone could be found for \(name)") }
            switch try await keys(of: zone) {
            case .insecure(let why): return .insecure("\(set) is unsigned, in an unsigned zone: \(why)")
            case .bogus(let why): return .bogus(why)
            case .secure: return .bogus("\(set) has no RRSIG, but its zone \(zone) is signed (RFC 4035 §5.3)")
            }
        }
        switch try await keys(of: zone) {
        case .insecure(let why): return .insecure(why)
        case .bogus(let why): return .bogus(why)
        case .secure(let keys):
            switch DNSSECValidator.verify(set, zone: zone, keys: keys.zoneKeys, now: now, allowingWildcard: true) {
            case .failure(let failure): return .bogus(failure.reason)
            case .success(let signers):
                let tags = signers.map { String($0.keyTag) }.joined(separator: ", ")
                guard let encloser = DNSSECValidator.wildcardEncloser(set) else {
                    return .secure("\(set) signed by key \(tags) of \(zone), validated from the trust anchor for \(anchor.zone)")
                }
                if case .failure(let failure) = DNSSECValidator.proveWildcardExpansion(
                    of: name, closestEncloser: encloser, records: authority, zone: zone, keys: keys.zoneKeys, now: now)
                {
                    return .bogus(failure.reason)
                }
                return .secure("\(set) synthesized from *.\(encloser), signed by key \(tags) of \(zone), validated from the trust anchor for \(anchor.zone)")
            }
        }
    }

    func validateNegative(_ message: Message, name: DomainName, type: RRType) async throws -> Verdict {
        let kind = message.rcode == .nxDomain ? "NXDOMAIN" : "NODATA"
        guard let zone = SignedRRset.signerName(message.authority.filter { $0.type == .rrsig }) ?? message.authority.first(where: { $0.type == .soa })?.name
        else {
            return .bogus("the \(kind) answer to \(name) \(type) names no zone (no SOA, no RRSIG)")
        }
        switch try await keys(of: zone) {
        case .insecure(let why): return .insecure(why)
        case .bogus(let why): return .bogus(why)
        case .secure(let keys):
            switch DNSSECValidator.proveDenial(
                of: name, type, nameError: message.rcode == .nxDomain, records: message.authority, zone: zone, keys: keys.zoneKeys, now: now)
            {
            case .failure(let failure): return failure.insecure ? .insecure(failure.reason) : .bogus(failure.reason)
            case .success(let denial): return .secure("\(name) \(type): \(denial) in \(zone), proven by NSEC/NSEC3 from the trust anchor for \(anchor.zone)")
            }
        }
    }

    // MARK: Zones

    /// RFC 4035 §5.2: the keys of `zone`, from the anchor down: its DS RRset validated in its
    /// parent zone (found from the DS RRSIG's signer, or the negative answer's zone), then its
    /// DNSKEY RRset under that DS. An absent DS proven by the parent makes the zone insecure.
    func keys(of zone: DomainName, depth: Int = 0) async throws -> ZoneKeys {
        guard zone.isSubdomain(of: anchor.zone) else {
            return .bogus("\(zone) is not below the trust anchor's zone \(anchor.zone): configure an anchor that covers it")
        }
        guard depth < 128 else { return .bogus("the chain of trust to \(zone) is too long") }
        if zone == anchor.zone { return try await authenticated(zone, by: anchor) }
        let reply = try await ask(zone, .ds)
        if reply.rcode == .noError, let ds = SignedRRset(reply.answer, name: zone, type: .ds) {
            guard let parent = SignedRRset.signerName(ds.signatures), zone.isSubdomain(of: parent), parent != zone else {
                return .bogus("the DS RRset of \(zone) carries no RRSIG of a zone above it")
            }
            switch try await keys(of: parent, depth: depth + 1) {
            case .insecure(let why): return .insecure(why)
            case .bogus(let why): return .bogus(why)
            case .secure(let keys):
                if case .failure(let failure) = DNSSECValidator.verify(ds, zone: parent, keys: keys.zoneKeys, now: now) { return .bogus(failure.reason) }
                let records = ds.rrset.rdatas.compactMap { try? DSData(rdata: $0) }
                return try await authenticated(zone, by: TrustAnchor(zone: zone, ds: records))
            }
        }
        guard reply.rcode == .noError || reply.rcode == .nxDomain else {
            return .bogus("the resolver answered \(reply.rcode) to \(zone) DS")
        }
        guard let parent = SignedRRset.signerName(reply.authority.filter { $0.type == .rrsig }) ?? reply.authority.first(where: { $0.type == .soa })?.name,
            zone.isSubdomain(of: parent), parent != zone
        else {
            return .bogus("the answer to \(zone) DS does not come from a zone above \(zone)")
        }
        switch try await keys(of: parent, depth: depth + 1) {
        case .insecure(let why): return .insecure(why)
        case .bogus(let why): return .bogus(why)
        case .secure(let keys):
            switch DNSSECValidator.proveDenial(
                of: zone, .ds, nameError: reply.rcode == .nxDomain, records: reply.authority, zone: parent, keys: keys.zoneKeys, now: now)
            {
            case .failure(let failure): return failure.insecure ? .insecure(failure.reason) : .bogus(failure.reason)
            case .success(.nameError): return .bogus("\(parent) proves that \(zone) does not exist")
            case .success(let denial): return .insecure("\(parent) proves there is no DS for \(zone) (\(denial)): \(zone) is not signed")
            }
        }
    }

    /// The DNSKEY RRset of `zone` authenticated by `anchor` (its DS or keys).
    func authenticated(_ zone: DomainName, by anchor: TrustAnchor) async throws -> ZoneKeys {
        let reply = try await ask(zone, .dnskey)
        guard let dnskey = SignedRRset(reply.answer, name: zone, type: .dnskey) else {
            return .bogus("missing chain: the resolver returned no DNSKEY RRset for \(zone) (\(reply.rcode))")
        }
        switch DNSSECValidator.authenticate(dnskey, anchor: anchor, now: now) {
        case .success(let keys): return .secure(keys)
        case .failure(let failure): return failure.insecure ? .insecure(failure.reason) : .bogus(failure.reason)
        }
    }

    /// The zone `name` is in: the owner of the SOA the resolver returns for it.
    func zone(of name: DomainName) async throws -> DomainName? {
        let reply = try await ask(name, .soa)
        if reply.answer.contains(where: { $0.name == name && $0.type == .soa }) { return name }
        return reply.authority.first { $0.type == .soa && name.isSubdomain(of: $0.name) }?.name
    }
}
