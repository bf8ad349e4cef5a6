import DNSWire

/// Which content checks a parent zone runs before it commits a child's change (configuration
/// `content-checks`); each is on unless switched off.
public struct ContentChecks: Sendable, Hashable {
    /// Every NS of the resulting set answers the child's SOA authoritatively at every address.
    public var nsAuthoritative: Bool
    /// Every DS added matches a DNSKEY with the SEP bit that every child server serves.
    public var dsMatchesDNSKEY: Bool
    /// The last DS goes only when the child is unsigned or every server publishes the delete signal.
    public var dsRemovalNeedsCDSDelete: Bool

    public init(nsAuthoritative: Bool = true, dsMatchesDNSKEY: Bool = true, dsRemovalNeedsCDSDelete: Bool = true) {
        self.nsAuthoritative = nsAuthoritative
        self.dsMatchesDNSKEY = dsMatchesDNSKEY
        self.dsRemovalNeedsCDSDelete = dsRemovalNeedsCDSDelete
    }

    /// Every check off.
    public static let none = ContentChecks(nsAuthoritative: false, dsMatchesDNSKEY: false, dsRemovalNeedsCDSDelete: false)
}

/// What one address of one of the child's nameservers answered to the content checks'
/// questions, asked directly (RD=0, over TCP): the values ``ContentCheck/judge(_:)`` decides on.
public struct ChildServerObservation: Sendable, Hashable {
    /// One answer: its RCODE, whether AA was set, and the answer section's records at the
    /// child's name (the type asked and, with the DO bit, its RRSIGs).
    public struct Answer: Sendable, Hashable {
        public var rcode: RCode
        public var authoritative: Bool
        public var records: [Record]

        public init(rcode: RCode, authoritative: Bool, records: [Record]) {
            self.rcode = rcode
            self.authoritative = authoritative
            self.records = records
        }

        /// Why this is not an authoritative answer (RFC 1035 §4.1.1: NOERROR, AA set) from `server`
        /// to `question` about `zone`, or nil when it is.
        public func problem(from server: String, to question: String, zone: DomainName) -> String? {
            guard rcode == .noError else { return "\(server) answered \(question) with \(rcode)" }
            guard authoritative else {
                return "\(server) answered \(question) without the AA bit (a referral or a cached answer): it is not authoritative for \(zone)"
            }
            return nil
        }
    }

    public var nameserver: DomainName
    /// The address asked; nil when no address is known (``failure`` says why).
    public var address: String?
    /// Answers by the type asked. A question of the plan missing here got no answer.
    public var answers: [RRType: Answer]
    /// Why the server could not be asked, or why it stopped answering.
    public var failure: String?

    public init(nameserver: DomainName, address: String?, answers: [RRType: Answer] = [:], failure: String? = nil) {
        self.nameserver = nameserver
        self.address = address
        self.answers = answers
        self.failure = failure
    }

    /// `ns1.child.parent. at 192.0.2.1`, or the name alone when no address is known.
    public var server: String { address.map { "\(nameserver) at \($0)" } ?? "\(nameserver)" }
}

/// The checks a CDS/CSYNC scanner makes (RFC 7344 §4.1, RFC 7477 §4, RFC 8078 §4), made on the
/// delegation a child's change leaves behind before the parent commits it
/// (draft-ietf-dnsop-delegation-mgmt-via-ddns: "the same checks a CDS/CSYNC scanner would"):
///
/// - `ns-not-authoritative`, `ns-no-address`: every NS of the resulting set must answer the
///   child's SOA with NOERROR, AA set and the SOA in the answer, at every address known for it.
/// - `ds-no-matching-dnskey`, `ds-digest-unsupported`: every DS the change adds must be the
///   digest (RFC 4034 §5.1.4) of a zone key with the SEP bit (flags & 1), not revoked, that
///   every child server serves in its DNSKEY RRset.
/// - `ds-removal-while-signed`: a change that removes the last DS while a child server still
///   serves signed data (a DNSKEY RRset, or RRSIGs at the apex) needs every server to publish
///   the delete signal, `CDS 0 0 0 00` (or, without CDS, `CDNSKEY 0 3 0 AA==`), RFC 8078 §4.
///
/// No I/O: ``plan`` says whom to ask what, the caller asks, ``judge(_:)`` decides. Changes
/// that leave NS, glue and DS as they are (KEY only, or nothing) are not checked.
///
/// Limitations: the servers are asked once, from one place (RFC 7344 §4.1 suggests several
/// vantage points and TCP only, which is what is done); DNSSEC signatures are not validated (a
/// DS check needs the keys, not their signatures; the resulting chain is not verified); the
/// CDS/CDNSKEY contents other than the delete signal are not compared with the DS set.
public struct ContentCheck: Sendable {
    public let checks: ContentChecks
    /// The delegation the parent holds now.
    public let current: DelegationSnapshot
    /// The delegation the change leaves behind.
    public let result: DelegationSnapshot

    public init(checks: ContentChecks, current: DelegationSnapshot, result: DelegationSnapshot) {
        self.checks = checks
        self.current = current
        self.result = result
    }

    /// One nameserver to ask, with the glue addresses the parent holds for it (before or after
    /// the change); out-of-bailiwick names have none and are looked up by the caller.
    public struct Target: Sendable, Hashable {
        public var nameserver: DomainName
        public var glue: Set<DelegationSnapshot.GlueAddress>
    }

    /// Whom to ask and what: every address of each target, each question in order, with the
    /// DO bit set (RFC 3225) so RRSIGs come with signed data.
    public struct Plan: Sendable, Hashable {
        public var targets: [Target]
        public var questions: [RRType]
    }

    /// DS records the change adds.
    public var addedDS: Set<[UInt8]> { result.ds.subtracting(current.ds) }

    /// Whether the change removes the last DS.
    public var removesLastDS: Bool { !current.ds.isEmpty && result.ds.isEmpty }

    var checksNameservers: Bool { checks.nsAuthoritative }
    var checksAddedDS: Bool { checks.dsMatchesDNSKEY && !addedDS.isEmpty }
    var checksRemoval: Bool { checks.dsRemovalNeedsCDSDelete && removesLastDS }

    /// What to ask, or nil when no check applies (nothing to ask, nothing to refuse).
    public var plan: Plan? {
        guard result.withoutKeys != current.withoutKeys, checksNameservers || checksAddedDS || checksRemoval else { return nil }
        var questions: [RRType] = []
        if checksNameservers || checksRemoval { questions.append(.soa) }
        if checksAddedDS || checksRemoval { questions.append(.dnskey) }
        if checksRemoval { questions += [.cds, .cdnskey] }
        // The removal is judged on the servers before and after the change: those that
        // served the signed zone until now must agree to go insecure too.
        let names = checksRemoval ? result.nameservers.union(current.nameservers) : result.nameservers
        let targets = names.sorted().map { name in
            Target(nameserver: name, glue: result.nameservers.contains(name) ? result.glue[name] ?? [] : current.glue[name] ?? [])
        }
        return Plan(targets: targets, questions: questions)
    }

    /// The first check the observations fail, in the order NS, added DS, removal; nil when all
    /// pass (or none applies).
    public func judge(_ observations: [ChildServerObservation]) -> PolicyViolation? {
        guard plan != nil else { return nil }
        let resulting = observations.filter { result.nameservers.contains($0.nameserver) }
        if checksNameservers, let violation = judgeNameservers(resulting) { return violation }
        if checksAddedDS, let violation = judgeAddedDS(resulting) { return violation }
        if checksRemoval, let violation = judgeRemoval(observations) { return violation }
        return nil
    }

    // MARK: NS

    func judgeNameservers(_ observations: [ChildServerObservation]) -> PolicyViolation? {
        let child = result.child
        for name in result.nameservers.sorted() {
            let seen = observations.filter { $0.nameserver == name }
            guard !seen.isEmpty else {
                return PolicyViolation(rule: "ns-no-address", "no address was asked for NS \(name)")
            }
            for observation in seen {
                guard observation.address != nil else {
                    return PolicyViolation(
                        rule: "ns-no-address",
                        "\(observation.failure ?? "no address known for \(name)"); the parent cannot check that \(name) serves \(child)")
                }
                if let problem = Self.problem(observation, .soa, child: child) {
                    return PolicyViolation(rule: "ns-not-authoritative", "\(problem); every NS must serve \(child) authoritatively")
                }
                let soa = observation.answers[.soa]?.records.contains { $0.type == .soa && $0.name == child } ?? false
                guard soa else {
                    return PolicyViolation(
                        rule: "ns-not-authoritative", "\(observation.server) answered \(child) SOA without the SOA record: it does not serve \(child)")
                }
            }
        }
        return nil
    }

    /// Why an answer to `type` is not an authoritative one (RFC 1035 §4.1.1: NOERROR, AA set),
    /// or nil when it is.
    static func problem(_ observation: ChildServerObservation, _ type: RRType, child: DomainName) -> String? {
        guard let answer = observation.answers[type] else {
            return "\(observation.server) did not answer \(child) \(type): \(observation.failure ?? "no answer")"
        }
        return answer.problem(from: observation.server, to: "\(child) \(type)", zone: child)
    }

    // MARK: DS added

    func judgeAddedDS(_ observations: [ChildServerObservation]) -> PolicyViolation? {
        let child = result.child
        for rdata in addedDS.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard let ds = try? DSData(rdata: rdata) else {
                return PolicyViolation(rule: "ds-no-matching-dnskey", infoCode: DelegationEDE.invalidData, "DS RDATA \(rdata.hexString) cannot be read")
            }
            guard DSData.computableDigestTypes.contains(ds.digestType) else {
                return PolicyViolation(
                    rule: "ds-digest-unsupported",
                    "DS \(ds) has digest type \(ds.digestType), which the parent cannot compute to check it against the child's DNSKEYs; use 2 (SHA-256) or 4 (SHA-384)"
                )
            }
            for name in result.nameservers.sorted() {
                let seen = observations.filter { $0.nameserver == name }
                guard !seen.isEmpty, seen.allSatisfy({ $0.address != nil }) else {
                    let why = seen.first?.failure ?? "no address known for \(name)"
                    return PolicyViolation(rule: "ds-no-matching-dnskey", "DS \(ds) cannot be checked at \(name): \(why)")
                }
                for observation in seen {
                    if let problem = Self.problem(observation, .dnskey, child: child) {
                        return PolicyViolation(rule: "ds-no-matching-dnskey", "DS \(ds) cannot be checked: \(problem)")
                    }
                    let keys = observation.answers[.dnskey]?.records.filter { $0.type == .dnskey && $0.name == child }.map(\.rdata) ?? []
                    if let mismatch = Self.mismatch(ds, keys: keys, child: child) {
                        return PolicyViolation(rule: "ds-no-matching-dnskey", "\(observation.server): \(mismatch)")
                    }
                }
            }
        }
        return nil
    }

    /// Why `ds` matches none of `keys` as RFC 4034 §5.1.4 and the SEP convention want, or nil
    /// when a zone key with the SEP bit, not revoked (RFC 5011 §3), has this digest.
    static func mismatch(_ ds: DSData, keys: [[UInt8]], child: DomainName) -> String? {
        let matching = keys.filter { (try? DSData(dnskey: $0, owner: child, digestType: ds.digestType)) == ds }
        for rdata in matching {
            if let key = try? KEYData(rdata: rdata), key.isZoneKey, key.isSecureEntryPoint, !key.isRevoked { return nil }
        }
        let tags = keys.compactMap { try? KEYData(rdata: $0) }.map { "\($0.keyTag) (flags \($0.flags))" }
        let served = tags.isEmpty ? "no DNSKEY at all" : "DNSKEY \(tags.joined(separator: ", "))"
        if let key = matching.first.flatMap({ try? KEYData(rdata: $0) }) {
            return
                "DS \(ds) matches DNSKEY \(key.keyTag) with flags \(key.flags), which is not a zone key with the SEP bit (257) or is revoked; "
                + "point the DS at the KSK"
        }
        return "DS \(ds) matches no DNSKEY of \(child) with the SEP bit; the server serves \(served)"
    }

    // MARK: Last DS removed

    /// RFC 8078 §4: `CDS 0 0 0 00`.
    static let cdsDelete: [UInt8] = [0, 0, 0, 0, 0]
    /// RFC 8078 §4: `CDNSKEY 0 3 0 AA==`.
    static let cdnskeyDelete: [UInt8] = [0, 0, 3, 0, 0]

    func judgeRemoval(_ observations: [ChildServerObservation]) -> PolicyViolation? {
        let child = result.child
        let rule = "ds-removal-while-signed"
        for observation in observations {
            guard observation.address != nil else {
                return PolicyViolation(
                    rule: rule,
                    "cannot tell whether \(observation.nameserver) still serves \(child) signed: \(observation.failure ?? "no address known"); the last DS goes only when every server can be asked"
                )
            }
            for type in [RRType.soa, .dnskey, .cds, .cdnskey] {
                if let problem = Self.problem(observation, type, child: child) {
                    return PolicyViolation(rule: rule, "cannot tell whether \(child) is still signed: \(problem)")
                }
            }
        }
        guard let signed = observations.first(where: Self.servesSignedData) else { return nil }
        for observation in observations where !Self.publishesDeleteSignal(observation) {
            let what = signed.answers[.dnskey]?.records.contains { $0.type == .dnskey } == true ? "DNSKEY records" : "RRSIGs"
            return PolicyViolation(
                rule: rule,
                "\(signed.server) still serves \(what) for \(child), and \(observation.server) does not publish CDS 0 0 0 00 (RFC 8078 §4); "
                    + "removing the last DS would leave resolvers without a way to tell the zone is signed on purpose. "
                    + "Publish the delete signal on every server first, or keep a DS")
        }
        return nil
    }

    /// A DNSKEY RRset at the apex, or RRSIGs in an apex answer.
    static func servesSignedData(_ observation: ChildServerObservation) -> Bool {
        observation.answers.values.contains { answer in answer.records.contains { $0.type == .dnskey || $0.type == .rrsig } }
    }

    /// `CDS 0 0 0 00` alone (and CDNSKEY absent or the delete form alone), or no CDS and
    /// `CDNSKEY 0 3 0 AA==` alone (RFC 8078 §4).
    static func publishesDeleteSignal(_ observation: ChildServerObservation) -> Bool {
        let cds = Set(observation.answers[.cds]?.records.filter { $0.type == .cds }.map(\.rdata) ?? [])
        let cdnskey = Set(observation.answers[.cdnskey]?.records.filter { $0.type == .cdnskey }.map(\.rdata) ?? [])
        if cds == [cdsDelete] { return cdnskey.isEmpty || cdnskey == [cdnskeyDelete] }
        return cds.isEmpty && cdnskey == [cdnskeyDelete]
    }
}
