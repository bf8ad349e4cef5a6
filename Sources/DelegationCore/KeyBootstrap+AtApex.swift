import DNSWire

extension KeyBootstrap {
    /// The `at-apex` bootstrap method (draft-ietf-dnsop-delegation-mgmt-via-ddns): the child is
    /// signed, so its KEY RRset at the apex is proven by DNSSEC rather than by rounds over time.
    /// Each server's answer (`records`: the KEY RRset and the DNSKEY RRset it serves, with their
    /// RRSIGs) must validate under the DS RRset the parent holds (RFC 4035 §5, with the
    /// ``DNSSECValidator``); the caller's round checks as usual that every server serves the
    /// same KEY RRset with the uploaded key. Returns nil when every answer validates, else why
    /// not (waiting will not help: the child must sign its KEY RRset, or use another method).
    public static func validateAtApex(_ answers: [(server: String, records: [Record])], child: DomainName, ds: Set<[UInt8]>, now: Int64) -> String? {
        guard !ds.isEmpty else {
            return "\(child) has no DS at the parent: at-apex needs a signed child (use another bootstrap method)"
        }
        let anchor = TrustAnchor(zone: child, ds: ds.sorted { $0.lexicographicallyPrecedes($1) }.compactMap { try? DSData(rdata: $0) })
        for (server, records) in answers {
            guard let keys = SignedRRset(records, name: child, type: .key) else { return "\(server) serves no KEY RRset at \(child)" }
            guard let dnskey = SignedRRset(records, name: child, type: .dnskey) else {
                return "\(server) serves no DNSKEY RRset at \(child) to validate the KEY RRset with"
            }
            let verdict = DNSSECValidator.validate(keys, dnskey: dnskey, anchor: anchor, now: now)
            guard verdict.isSecure else { return "the KEY RRset at \(server) does not validate: \(verdict)" }
        }
        return nil
    }
}
