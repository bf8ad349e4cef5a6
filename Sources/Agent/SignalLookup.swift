import DNSWire
import DelegationCore
import Transport

/// The I/O half of ``Signaling``: looks up a signaling name (RFC 9615 §2) through the zone's
/// resolver (RD=1, CD=1, the DO bit set: the agent validates, not the resolver) with its chain
/// of trust — the DNSKEY of each zone from the configured anchor's zone down to the zone whose
/// RRSIG signs the signal, and the DS of each but the anchor's, each zone found from the signer
/// of the RRSIGs one level down. Shared by the scanner (RFC 9615 `_dsboot`, CDS and CDNSKEY)
/// and the `at-ns` key bootstrap (`_sig0key`, KEY).
struct SignalLookup: Sendable {
    let exchange: DNSExchange
    let resolver: AgentConfiguration.Listen

    /// The RRsets of `types` at `name` (the signal under `nameserver`) and their chain from
    /// `anchor`; a resolver that does not answer is the observation's failure.
    func observe(_ name: DomainName, nameserver: DomainName, types: [RRType], anchor: TrustAnchor) async -> SignalingObservation {
        var observation = SignalingObservation(nameserver: nameserver, name: name)
        do {
            for type in types {
                let reply = try await resolve(name, type)
                observation.answers[type] = ChildServerObservation.Answer(
                    rcode: reply.rcode, authoritative: reply.header.aa, records: reply.answer.filter { $0.name == name })
            }
            let records = observation.answers.values.flatMap(\.records)
            guard var zone = SignedRRset.signerName(records.filter { $0.type == .rrsig }) else { return observation }
            var links: [DNSSECValidator.ChainLink] = []
            // One zone per label at most (a name has fewer than 128).
            for _ in 0..<128 {
                guard zone.isSubdomain(of: anchor.zone) else { break }
                let dnskey = try await resolve(zone, .dnskey).answer
                guard let keys = SignedRRset(dnskey, name: zone, type: .dnskey) else { break }
                if zone == anchor.zone {
                    links.insert(DNSSECValidator.ChainLink(zone: zone, ds: nil, dnskey: keys), at: 0)
                    break
                }
                let ds = SignedRRset(try await resolve(zone, .ds).answer, name: zone, type: .ds)
                links.insert(DNSSECValidator.ChainLink(zone: zone, ds: ds, dnskey: keys), at: 0)
                guard let parent = ds.flatMap({ SignedRRset.signerName($0.signatures) }), parent != zone else { break }
                zone = parent
            }
            observation.chain = links
        } catch {
            observation.failure = "the resolver \(resolver.address) port \(resolver.port): \(error)"
        }
        return observation
    }

    func resolve(_ name: DomainName, _ type: RRType) async throws -> Message {
        try await DirectQuery.ask(
            name, type, at: resolver.address, port: resolver.port, recursionDesired: true, dnssecOK: true, checkingDisabled: true, exchange: exchange)
    }
}
