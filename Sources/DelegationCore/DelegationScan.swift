import DNSWire

/// The parent-side scanner's decision for one child (the NOTIFY scheme of RFC 9859): from what
/// every nameserver of the delegation answered at every address, the change of the parent's DS
/// RRset (CDS/CDNSKEY: RFC 7344, RFC 8078, RFC 9615) and of its NS RRset and glue (CSYNC:
/// RFC 7477) — or no change, with the reason.
///
/// The rules, each refusing with a named rule and a text that says what to fix:
///
/// - RFC 9975: every address of every NS of the delegation answers every question,
///   authoritatively; CDS, CDNSKEY and CSYNC are the same RRsets everywhere; CDS and CDNSKEY
///   agree. Otherwise nothing changes.
/// - RFC 7344 §4.1, §6.1, RFC 8078 §4: no CDS and no CDNSKEY: no change. A signed child's CDS and
///   CDNSKEY must validate under a key the parent's *current* DS points at; the delete signal
///   (`CDS 0 0 0 00`, `CDNSKEY 0 3 0 AA==`) then removes the DS RRset. A new DS set must keep the
///   child validating on every server: a DS pointing at a key that signs the DNSKEY RRset, and
///   for every algorithm in the set such a DS (RFC 4035 §2.2, RFC 6840 §5.11).
/// - An unsigned child's first DS: its CDS/CDNSKEY must be signed by the keys they point at, and
///   then either RFC 9615 signals under every out-of-domain NS, validated from the configured
///   trust anchor and equal to the apex's, accept it at once, or RFC 8078 §3.3's delay does
///   (``BootstrapObservation``).
/// - RFC 7477: one CSYNC, only known flags and types (NS, A, AAAA), the `immediate` flag, the
///   `soaminimum` serial, the same SOA serial before and after, everything DNSSEC-secure (so a
///   signed child only); NS and in-bailiwick glue copied, the same on every server.
///
/// No I/O: ``apexQuestions``, ``glueNames(in:)`` and ``signalingNames(in:)`` say what to ask,
/// ``judge(_:signaling:bootstrap:now:)`` decides. The change is the update section a signed
/// UPDATE would carry; the caller runs it through the same policy, content checks and backend.
///
/// ## Limitations
/// - Consistency is "identical RRsets" (stricter than RFC 9975's "every key referenced in every
///   answer" when servers differ only in records that point at nothing).
/// - Denial of existence is not validated: a server that answers NODATA for glue of a type the
///   CSYNC lists is taken at its word (the copy removes that type's glue).
/// - CSYNC without `immediate` is never applied: delegsync has no out-of-band approval yet.
/// - A DS whose key is not (yet) published is accepted beside one that works (double-DS
///   rollover); it is reported in the change's text.
public struct DelegationScan: Sendable {
    /// How the parent treats what it finds (configuration `zones[].scanner`).
    public struct Policy: Sendable, Hashable {
        /// RFC 8078 §3.3 delay for unsigned children without an RFC 9615 signal.
        public var bootstrap: BootstrapObservation.Rule
        /// Trust anchor for RFC 9615 signaling zones; nil: no RFC 9615 bootstrap.
        public var anchor: TrustAnchor?
        /// TTL the parent gives delegation records.
        public var ttl: UInt32
        public var limits: DelegationLimits

        public init(
            bootstrap: BootstrapObservation.Rule = .init(), anchor: TrustAnchor? = nil, ttl: UInt32 = 3600, limits: DelegationLimits = DelegationLimits()
        ) {
            self.bootstrap = bootstrap
            self.anchor = anchor
            self.ttl = ttl
            self.limits = limits
        }
    }

    /// The parent zone.
    public let zone: DomainName
    /// The delegation as the parent's primary holds it now (trusted: the agent reads it there).
    public let current: DelegationSnapshot
    public let policy: Policy

    public var child: DomainName { current.child }

    public init(zone: DomainName, current: DelegationSnapshot, policy: Policy) {
        self.zone = zone
        self.current = current
        self.policy = policy
    }

    /// What every address is asked at the child apex, in this order; then A/AAAA at
    /// ``glueNames(in:)``, then the SOA once more (RFC 7477 §3.1).
    public static let apexQuestions: [RRType] = [.soa, .cds, .cdnskey, .csync, .dnskey, .ns]

    /// The in-bailiwick names among every NS RRset the servers served (their A and AAAA are
    /// what CSYNC copies as glue, RFC 7477 §3.2.2).
    public func glueNames(in observations: [ScanObservation]) -> [DomainName] {
        var names: Set<DomainName> = []
        for observation in observations {
            for rdata in observation.rdatas(child, .ns) {
                if let name = try? DomainName.read(from: rdata, at: 0).name, name.isSubdomain(of: child) { names.insert(name) }
            }
        }
        return names.sorted()
    }

    /// RFC 9615 §4.2: where to look for signals — for an unsigned delegation whose servers
    /// publish CDS or CDNSKEY, when a trust anchor is configured: the signaling name under each
    /// NS outside the child (``Signaling/names(_:child:nameservers:)``).
    public func signalingNames(in observations: [ScanObservation]) -> [(nameserver: DomainName, name: DomainName)] {
        guard current.ds.isEmpty, policy.anchor != nil,
            observations.contains(where: { !$0.rdatas(child, .cds).isEmpty || !$0.rdatas(child, .cdnskey).isEmpty })
        else { return [] }
        return Signaling.names(.dsboot, child: child, nameservers: current.nameservers)
    }

    // MARK: Judging

    /// The decision on what the servers answered (`observations`: every address of every NS of
    /// ``current``; `signaling`: the lookups at ``signalingNames(in:)``), with the child's
    /// stored RFC 8078 observation, at `now`.
    public func judge(_ observations: [ScanObservation], signaling: [SignalingObservation] = [], bootstrap: BootstrapObservation?, now: Int64) -> ScanOutcome {
        let asked = observations.filter { current.nameservers.contains($0.nameserver) }
        if let violation = reachability(asked) {
            return ScanOutcome(ds: .refused(violation), nameservers: .refused(violation))
        }
        let ds = judgeDS(asked, signaling: signaling, bootstrap: bootstrap, now: now)
        let ns = judgeCSYNC(asked, now: now)
        var outcome = ScanOutcome(ds: ds.part, nameservers: ns.part, bootstrap: ds.bootstrap)
        guard ds.part.isChange || ns.part.isChange else { return outcome }

        let apex = ChildApex(
            child: child, nameservers: ns.nameservers ?? current.nameservers, glue: ns.glue ?? current.glue, ds: ds.desired ?? current.ds)
        let diff: DelegationDiff
        do {
            diff = try DelegationDiff(current: current, apex: apex, ttl: policy.ttl, limits: policy.limits)
        } catch let error as DelegationDiffError {
            let violation = Self.violation("scan", error)
            if ds.part.isChange { outcome.ds = .refused(violation) }
            if ns.part.isChange { outcome.nameservers = .refused(violation) }
            return outcome
        } catch {
            return outcome
        }
        // Only what a changed part asks for: a DS change leaves unused glue alone, and so on.
        var types: Set<RRType> = ds.part.isChange ? [.ds] : []
        if ns.part.isChange { types.formUnion([.ns, .a, .aaaa]) }
        outcome.operations = diff.operations.filter { types.contains($0.type) }
        outcome.desired = try? current.applying(outcome.operations)
        return outcome
    }

    /// RFC 9975: every NS of the delegation was asked at some address, every address answered
    /// every apex question with NOERROR and AA, and the closing SOA.
    func reachability(_ observations: [ScanObservation]) -> PolicyViolation? {
        for name in current.nameservers.sorted() {
            let seen = observations.filter { $0.nameserver == name }
            guard !seen.isEmpty else {
                return PolicyViolation(rule: "scan-no-address", "no address of NS \(name) was asked; every address of every NS must agree (RFC 9975)")
            }
            for observation in seen {
                guard observation.address != nil else {
                    return PolicyViolation(
                        rule: "scan-no-address", "\(observation.failure ?? "no address known for \(name)"); every NS must be asked (RFC 9975)")
                }
                if let failure = observation.failure {
                    return PolicyViolation(rule: "scan-unreachable", "\(observation.server): \(failure); every address of every NS must answer (RFC 9975)")
                }
                for type in Self.apexQuestions {
                    if let violation = authoritative(observation.answers[ScanObservation.Query(child, type)], "\(child) \(type)", observation) {
                        return violation
                    }
                }
                if let violation = authoritative(observation.closingSOA, "\(child) SOA (asked again at the end)", observation) { return violation }
            }
        }
        return nil
    }

    /// Why an answer is not an authoritative one (NOERROR, AA), or nil.
    func authoritative(_ answer: ChildServerObservation.Answer?, _ question: String, _ observation: ScanObservation) -> PolicyViolation? {
        guard let answer else {
            return PolicyViolation(
                rule: "scan-unreachable", "\(observation.server) did not answer \(question); every address of every NS must answer (RFC 9975)")
        }
        return answer.problem(from: observation.server, to: question, zone: child).map { PolicyViolation(rule: "scan-not-authoritative", $0) }
    }

    /// The RRsets of `type` at `name` are the same on every server (RFC 9975); else the refusal
    /// naming two servers that differ.
    func consistent(_ observations: [ScanObservation], _ name: DomainName, _ type: RRType, rule: String) -> Result<Set<[UInt8]>, PolicyViolation> {
        guard let first = observations.first else { return .success([]) }
        let reference = first.rdatas(name, type)
        for observation in observations.dropFirst() where observation.rdatas(name, type) != reference {
            let text =
                "\(first.server) serves \(Self.show(reference, type, at: name)) but \(observation.server) serves \(Self.show(observation.rdatas(name, type), type, at: name)); "
                + "every server must publish the same \(type) RRset before the parent acts (RFC 9975)"
            return .failure(PolicyViolation(rule: rule, text))
        }
        return .success(reference)
    }

    /// `CDS {12345 13 2 AB…}` or `no CDS`, for the texts.
    static func show(_ rdatas: Set<[UInt8]>, _ type: RRType, at name: DomainName) -> String { Signaling.show(rdatas, type, at: name) }

    /// A ``DelegationDiffError`` as a refusal: rule `prefix-code-name` (`cds-delete-form-not-alone`).
    static func violation(_ prefix: String, _ error: DelegationDiffError) -> PolicyViolation {
        PolicyViolation(rule: "\(prefix)-\(error.code.description.lowercased().replacingOccurrences(of: " ", with: "-"))", error.detail)
    }

    /// The anchor for the child's data: the DS RRset the parent holds now.
    var currentAnchor: TrustAnchor {
        TrustAnchor(zone: child, ds: current.ds.sorted { $0.lexicographicallyPrecedes($1) }.compactMap { try? DSData(rdata: $0) })
    }
}

/// What a scan decided: per part (the DS RRset; the NS RRset and glue) a change, no change, a
/// refusal or a wait, and the update section for the change.
public struct ScanOutcome: Sendable, Hashable, CustomStringConvertible {
    /// One part's result.
    public enum Part: Sendable, Hashable, CustomStringConvertible {
        /// Nothing to do, and why.
        case unchanged(String)
        /// A change, described.
        case change(String)
        /// Refused by a rule: nothing changes.
        case refused(PolicyViolation)
        /// An unsigned child's DS waits for the RFC 8078 delay.
        case waiting(String)

        public var isChange: Bool {
            if case .change = self { return true }
            return false
        }

        public var violation: PolicyViolation? {
            if case .refused(let violation) = self { return violation }
            return nil
        }

        public var description: String {
            switch self {
            case .unchanged(let text): "no change: \(text)"
            case .change(let text): "change: \(text)"
            case .refused(let violation): "refused: \(violation)"
            case .waiting(let text): "waiting: \(text)"
            }
        }
    }

    public var ds: Part
    public var nameservers: Part
    /// The update section (RFC 2136 §2.5) of the change; empty when nothing changes.
    public var operations: [Update.Operation] = []
    /// The delegation after the change.
    public var desired: DelegationSnapshot? = nil
    /// The RFC 8078 observation to keep for the next scan; nil: nothing to keep.
    public var bootstrap: BootstrapObservation? = nil

    public init(ds: Part, nameservers: Part, operations: [Update.Operation] = [], desired: DelegationSnapshot? = nil, bootstrap: BootstrapObservation? = nil) {
        self.ds = ds
        self.nameservers = nameservers
        self.operations = operations
        self.desired = desired
        self.bootstrap = bootstrap
    }

    /// The first refusal (DS part first).
    public var violation: PolicyViolation? { ds.violation ?? nameservers.violation }

    public var description: String {
        ds == nameservers ? "DS and NS: \(ds)" : "DS: \(ds); NS: \(nameservers)"
    }
}
