import DNSWire

/// Authenticated signals published by a child's nameserver operators in their own signed zones
/// (RFC 9615 §2, §4.2): under each nameserver `ns`, the signaling name
/// `<prefix>.<child>._signal.<ns>` holds a copy of the child's RRset, and that copy validates
/// from a configured trust anchor. One place for both users:
///
/// - RFC 9615 DNSSEC bootstrapping: `_dsboot`, CDS and CDNSKEY (the scanner's first DS).
/// - The `at-ns` key bootstrap of draft-ietf-dnsop-delegation-mgmt-via-ddns: `_sig0key`, KEY
///   ("identical to the method used for DNSSEC bootstrap as described in RFC 9615").
///
/// The rules are RFC 9615's for both (the draft would take "at least one" NS; delegsync keeps
/// RFC 9615's rigor): every NS outside the child signals (an NS inside the child cannot, its
/// zone is the unsigned child), each signal equals the apex's RRset, and each validates.
public enum Signaling {
    /// The label before the child's name in a signaling name.
    public enum Prefix: String, Sendable, Hashable {
        /// RFC 9615 §2: CDS and CDNSKEY.
        case dsboot = "_dsboot"
        /// The DDNS draft's `at-ns`: KEY.
        case sig0key = "_sig0key"
    }

    /// What the signals say.
    public enum Verdict: Sendable, Hashable {
        /// Every out-of-domain NS signals the apex's RRsets, validated from the anchor; the text
        /// says where.
        case authenticated(String)
        /// Signals exist (or must) but do not authenticate the apex's RRsets: why.
        case failed(String)
        /// Nothing to go by (no anchor, no out-of-domain NS, no signal published anywhere).
        case absent(String)
    }

    /// `<prefix>.<child>._signal.<nameserver>` (RFC 9615 §2); nil when longer than a name may be.
    public static func name(_ prefix: Prefix, child: DomainName, nameserver: DomainName) -> DomainName? {
        let labels = [Array(prefix.rawValue.utf8)] + child.labels.map(Array.init) + [Array("_signal".utf8)] + nameserver.labels.map(Array.init)
        return try? DomainName(labels: labels)
    }

    /// The nameservers that can signal for `child`: those outside it (RFC 9615 §4.2 step 3), in
    /// canonical order, each with its signaling name.
    public static func names(_ prefix: Prefix, child: DomainName, nameservers: Set<DomainName>) -> [(nameserver: DomainName, name: DomainName)] {
        nameservers.sorted().filter { !$0.isSubdomain(of: child) }.compactMap { nameserver in
            name(prefix, child: child, nameserver: nameserver).map { (nameserver, $0) }
        }
    }

    /// RFC 9615 §4.2 steps 3 and 4: under every NS of `nameservers` outside `child` the signaling
    /// name holds exactly the RRsets of `apex` (by type; empty in one and not the other fails
    /// too), each validating from `anchor` down the observation's chain at `now`.
    public static func judge(
        _ signaling: [SignalingObservation], apex: [RRType: Set<[UInt8]>], child: DomainName, nameservers: Set<DomainName>, anchor: TrustAnchor?,
        now: Int64
    ) -> Verdict {
        guard let anchor else { return .absent("no trust anchor configured for signals under the nameservers") }
        let outside = nameservers.sorted().filter { !$0.isSubdomain(of: child) }
        guard !outside.isEmpty else { return .absent("every NS is inside \(child), so no signal can exist under its nameservers (RFC 9615 §4.2)") }
        let types = apex.keys.sorted { $0.rawValue < $1.rawValue }
        let published = signaling.filter { signal in types.contains { !signal.rdatas($0).isEmpty } }
        guard !published.isEmpty else {
            let what = types.map(\.description).joined(separator: "/")
            return .absent("no RFC 9615 signal under any NS (\(what) looked up at \(signaling.map(\.name.description).joined(separator: ", ")))")
        }
        for nameserver in outside {
            guard let signal = signaling.first(where: { $0.nameserver == nameserver }) else {
                return .failed("no signal was looked up under \(nameserver); every out-of-domain NS must signal (RFC 9615 §4.2)")
            }
            if let failure = signal.failure { return .failed("\(signal.name): \(failure) (RFC 9615 §4.2)") }
            for type in types {
                let expected = apex[type] ?? []
                let signalled = signal.rdatas(type)
                guard signalled == expected else {
                    return .failed(
                        "\(signal.name) holds \(show(signalled, type, at: signal.name)) but the apex of \(child) \(show(expected, type, at: child)); "
                            + "they must be the same (RFC 9615 §4.2 step 4)")
                }
                guard !signalled.isEmpty, let records = signal.answers[type]?.records, let target = SignedRRset(records, name: signal.name, type: type) else {
                    continue
                }
                let verdict = DNSSECValidator.validate(target, chain: signal.chain, anchor: anchor, now: now)
                guard verdict.isSecure else {
                    return .failed("\(signal.name) \(type) does not validate from the trust anchor for \(anchor.zone): \(verdict)")
                }
            }
        }
        return .authenticated("validated under \(outside.map(\.description).joined(separator: ", ")) from the anchor for \(anchor.zone)")
    }

    /// `CDS {…}` or `no CDS`: an RRset's RDATAs for the texts that explain a refusal.
    static func show(_ rdatas: Set<[UInt8]>, _ type: RRType, at name: DomainName) -> String {
        guard !rdatas.isEmpty else { return "no \(type)" }
        let shown = rdatas.sorted { $0.lexicographicallyPrecedes($1) }.map { Record(name: name, type: type, ttl: 0, rdata: $0).rdataPresentation }
        return "\(type) {\(shown.joined(separator: ", "))}"
    }
}
