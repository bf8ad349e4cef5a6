import DNSWire

/// How the agent decides to trust a child's uploaded SIG(0) key without DNSSEC: the `unsigned`
/// method of draft-ietf-dnsop-delegation-mgmt-via-ddns (as RFC 8078 does for CDS) — ask every
/// authoritative nameserver of the child directly, N times, spaced so that a spoofed answer
/// would have expired between rounds — and, where policy asks, an operator's confirmation.
public struct BootstrapPolicy: Sendable, Hashable, Codable {
    /// What happens when a round fails.
    public enum FailureAction: String, Sendable, Hashable, Codable {
        /// The job fails; the old key stays trusted. Default.
        case fail
        /// The count starts again at round 1.
        case restart
    }

    /// How a child's key can come to be trusted (the DDNS draft's bootstrap methods, advertised
    /// in the SVCB record at the DSYNC target as `bootstrap=`).
    public enum Method: String, Sendable, Hashable, Codable, CaseIterable {
        /// Rounds of queries to every nameserver of the (unsigned) child.
        case unsigned
        /// An operator checks the key out of band and approves it; no rounds.
        case manual
        /// The child is signed: its KEY RRset at the apex, validated under the DS the parent
        /// holds (``KeyBootstrap/validateAtApex(_:child:ds:now:)``) on every server, makes the
        /// key trusted after one round.
        case atApex = "at-apex"
        /// The child's nameservers live in signed zones: under every NS outside the child,
        /// `_sig0key.<child>._signal.<ns>` serves the child's KEY RRset, validated from the
        /// configured trust anchor (``KeyBootstrap/validateAtNS(_:child:nameservers:apex:anchor:now:)``,
        /// RFC 9615's rules); trusted after one round.
        case atNS = "at-ns"
    }

    /// Whether an operator must confirm (the source address of the upload) before trust.
    public enum Confirmation: String, Sendable, Hashable, Codable {
        case never, always, command
    }

    /// Rounds that must all pass. Default 3.
    public var rounds: Int
    /// Least time between rounds, seconds. Default 300.
    public var minimumInterval: Int64
    /// Most time between rounds, seconds (caps a huge TTL). Default 86400.
    public var maximumInterval: Int64
    /// A job not finished this long after the upload fails. Default 7 days.
    public var deadline: Int64
    public var onFailure: FailureAction
    public var confirmation: Confirmation
    /// With `confirmation: command`: the command that decides; it gets the job as JSON on stdin,
    /// exit status 0 approves, anything else rejects.
    public var approvalCommand: [String]?
    /// Write the trusted KEY into the parent zone (at the delegation) through the backend, as
    /// DESIGN.md asks. Default true.
    public var publishKey: Bool = true
    /// The methods this parent offers, in the order it prefers them. Default `unsigned, manual`;
    /// empty means no uploads are accepted (keys come only from `delegsync keys import`).
    public var methods: [Method] = [.unsigned, .manual]

    /// The method for an upload: the one the child asked for (KeyState 0 automatic → `at-apex`
    /// for a signed child where offered, else `at-ns` for a child with a nameserver outside it
    /// where offered, else `unsigned`; 1 manual → `manual`) when offered, else the first offered
    /// that fits; nil when none does. `at-apex` only for a child the parent holds DS for
    /// (`signed`), `at-ns` only for one with an NS outside the child (`signalable`).
    public func method(requested: Method?, signed: Bool = true, signalable: Bool = false) -> Method? {
        let usable = methods.filter { ($0 != .atApex || signed) && ($0 != .atNS || signalable) }
        // KeyState 0 asks for an automatic bootstrap: the strongest that fits (DDNS draft:
        // "a child SHOULD prefer the strongest method").
        if requested == .unsigned || requested == .atApex || requested == .atNS {
            for method in [Method.atApex, .atNS, .unsigned] where usable.contains(method) { return method }
        }
        if let requested, usable.contains(requested) { return requested }
        return usable.first
    }

    /// "unsigned, manual" (or "none"), for the EDE and KeyState texts that tell a child what is
    /// offered.
    public var offered: String { methods.isEmpty ? "none" : methods.map(\.rawValue).joined(separator: ", ") }

    public init(
        rounds: Int = 3, minimumInterval: Int64 = 300, maximumInterval: Int64 = 86400, deadline: Int64 = 7 * 86400, onFailure: FailureAction = .fail,
        confirmation: Confirmation = .never, approvalCommand: [String]? = nil
    ) {
        self.approvalCommand = approvalCommand
        self.rounds = rounds
        self.minimumInterval = minimumInterval
        self.maximumInterval = maximumInterval
        self.deadline = deadline
        self.onFailure = onFailure
        self.confirmation = confirmation
    }
}

/// What one address of one child nameserver answered to `child KEY` (RD=0, over TCP).
public struct KeyObservation: Sendable, Hashable, Codable {
    public enum Answer: Sendable, Hashable, Codable {
        /// An answer: its RCODE, whether AA was set, the KEY RDATAs and their TTL.
        case answered(rcode: UInt16, authoritative: Bool, keys: [[UInt8]], ttl: UInt32)
        /// No answer (timeout, refused connection): the text says what happened.
        case unreachable(String)
    }

    /// The nameserver's name, as presentation text.
    public var nameserver: String
    public var address: String
    public var answer: Answer

    public init(nameserver: DomainName, address: String, answer: Answer) {
        self.nameserver = nameserver.description
        self.address = address
        self.answer = answer
    }
}

/// One round: when it ran, what every address said, and the verdict.
public struct BootstrapRound: Sendable, Hashable, Codable {
    public var number: Int
    public var at: Int64
    public var observations: [KeyObservation]
    /// `nil` when the round passed, else why it failed.
    public var failure: String?
}

/// The child's nameservers as the parent's delegation names them, each with its addresses (the
/// glue, or the configured resolver's answer for a name outside the child): whom a round asks.
/// A job pins them in its first round; every later round must find the same.
public struct DelegationNameservers: Sendable, Hashable, Codable {
    /// One NS name (presentation text) and its addresses (sorted).
    public struct Nameserver: Sendable, Hashable, Codable {
        public var name: String
        public var addresses: [String]
    }

    /// In canonical order of the names (RFC 4034 §6.1).
    public private(set) var nameservers: [Nameserver]

    public init(_ addresses: [DomainName: [String]]) {
        nameservers = addresses.keys.sorted().map { Nameserver(name: $0.description, addresses: (addresses[$0] ?? []).sorted()) }
    }

    /// What differs from `pinned`, one clause per NS name ("NS ns3.child.parent. added",
    /// "addresses of ns1.child.parent. changed from 192.0.2.1 to 192.0.2.9"); empty when nothing
    /// does. Names compare case-insensitively.
    public func changes(since pinned: DelegationNameservers) -> [String] {
        let before = pinned.byName, after = byName
        var changes: [String] = []
        for nameserver in pinned.nameservers {
            guard let now = after[nameserver.name.lowercased()] else {
                changes.append("NS \(nameserver.name) removed")
                continue
            }
            if now != nameserver.addresses {
                changes.append("addresses of \(nameserver.name) changed from \(Self.list(nameserver.addresses)) to \(Self.list(now))")
            }
        }
        for nameserver in nameservers where before[nameserver.name.lowercased()] == nil {
            changes.append("NS \(nameserver.name) added")
        }
        return changes
    }

    var byName: [String: [String]] {
        Dictionary(nameservers.map { ($0.name.lowercased(), $0.addresses) }, uniquingKeysWith: { first, _ in first })
    }

    static func list(_ addresses: [String]) -> String { addresses.isEmpty ? "none" : addresses.joined(separator: ", ") }
}

/// A bootstrap job for one (child, key): a pure state machine (no I/O; time passed in) whose
/// value the store persists, so a restart resumes every job at the right round and time.
///
/// received → verifying (round k of N) → awaiting confirmation → trusted | failed | rejected |
/// superseded. Nothing here ever removes the child's currently trusted key: that happens only
/// when this job reaches `trusted` (the caller promotes), so a forged upload cannot knock a
/// child's key out (DDNS draft, bootstrapping).
public struct KeyBootstrap: Sendable, Hashable, Codable {
    public enum State: Sendable, Hashable, Codable {
        /// Waiting to run round `round` at `nextAt`.
        case verifying(round: Int, nextAt: Int64)
        /// All rounds passed; an operator must confirm.
        case awaitingConfirmation
        case trusted(at: Int64)
        case failed(reason: String)
        case rejected(at: Int64)
        case superseded(at: Int64)

        public var isFinal: Bool {
            switch self {
            case .verifying, .awaitingConfirmation: false
            default: true
            }
        }
    }

    /// What the caller should do next.
    public enum Action: Sendable, Hashable {
        /// Query every address of every nameserver now and pass the answers to ``record(_:now:)``.
        case runRound(Int)
        /// Nothing until then.
        case waitUntil(Int64)
        /// Ask the operator (or the approval command).
        case awaitConfirmation
        /// Trust the key and retire the child's older keys.
        case promote
        /// Nothing more to do.
        case done
    }

    public var zone: String
    public var child: String
    /// The uploaded KEY RDATA, exactly as uploaded.
    public var key: [UInt8]
    public var keyTag: UInt16
    /// Where the upload came from (for the operator's confirmation), e.g. "192.0.2.7 (TCP)", or
    /// "forwarded by 192.0.2.1 (TCP)" when a nameserver passed it on (then the child's own
    /// address is not known). Made by ``source(address:transport:forwarded:)``.
    public var source: String

    /// The text of ``source``.
    public static func source(address: String, transport: String, forwarded: Bool) -> String {
        (forwarded ? "forwarded by " : "") + "\(address) (\(transport.uppercased()))"
    }

    /// The address in ``source``: the uploader's, or the forwarder's.
    public var sourceAddress: String {
        String(source.dropFirst(source.hasPrefix("forwarded by ") ? 13 : 0).prefix { $0 != " " })
    }
    public var createdAt: Int64
    public var policy: BootstrapPolicy
    public private(set) var state: State
    public private(set) var rounds: [BootstrapRound]
    /// The operator approved (possibly before the rounds passed; approval never skips them).
    public private(set) var approved: Bool
    /// How the key is being bootstrapped.
    public private(set) var method: BootstrapPolicy.Method
    /// The delegation the job's first round read; `nil` until then (and in jobs stored before
    /// pinning existed, which take it from their round 1).
    public private(set) var pinnedDelegation: DelegationNameservers?
    /// The KEY RRset (RDATAs, sorted) every address served in round 1 of the current count;
    /// every later round must serve exactly this set.
    public private(set) var pinnedKeys: [[UInt8]]?

    /// A new job. With `unsigned` the first round runs at once; with `manual` the job waits for
    /// an operator from the start.
    public init(
        zone: DomainName, child: DomainName, key: [UInt8], source: String, now: Int64, policy: BootstrapPolicy, method: BootstrapPolicy.Method = .unsigned
    ) {
        self.method = method
        self.zone = zone.description
        self.child = child.description
        self.key = key
        self.keyTag = KEYData.keyTag(rdata: key)
        self.source = source
        self.createdAt = now
        self.policy = policy
        self.state = method == .manual ? .awaitingConfirmation : .verifying(round: 1, nextAt: now)
        self.rounds = []
        self.approved = false
    }

    /// What to do at `now`; a job past its deadline fails here.
    public mutating func nextAction(now: Int64) -> Action {
        if !state.isFinal, now > createdAt + policy.deadline {
            state = .failed(reason: "the job did not finish within \(policy.deadline) s of the upload")
            return .done
        }
        switch state {
        case .verifying(let round, let nextAt):
            return now >= nextAt ? .runRound(round) : .waitUntil(nextAt)
        case .awaitingConfirmation:
            return .awaitConfirmation
        case .trusted:
            return .done
        default:
            return .done
        }
    }

    /// Records a round's answers and moves on. A round passes only if every address of every
    /// nameserver answered NOERROR with AA set and the same KEY RRset, which contains the
    /// uploaded key and, after round 1, is the set round 1 saw; anything else is a failure with
    /// the reason recorded.
    ///
    /// `delegation` is whom the round asked, as the parent's delegation named them (`nil` when
    /// it could not be read completely: the observations then say why). The first complete one
    /// is pinned; a later round whose delegation differs fails the job (whatever `onFailure`
    /// says), naming what changed: the rounds only count if they asked the same servers.
    /// Returns ``Action/promote`` when the key is now trusted.
    ///
    /// `validation` is why the round fails DNSSEC validation (`at-apex`, `at-ns`), nil when it passed or
    /// does not apply.
    @discardableResult
    public mutating func record(_ observations: [KeyObservation], delegation: DelegationNameservers? = nil, validation: String? = nil, now: Int64) -> Action {
        guard case .verifying(let number, _) = state else { return .done }
        pinFromRound1IfStoredBeforePinning(number: number)
        if let delegation, let pinned = pinnedDelegation {
            let changes = delegation.changes(since: pinned)
            if !changes.isEmpty {
                let failure = "the delegation of \(child) in \(zone) changed since round 1: " + changes.joined(separator: "; ")
                rounds.append(BootstrapRound(number: number, at: now, observations: observations, failure: failure))
                state = .failed(reason: "round \(number): \(failure)")
                return .done
            }
        } else if pinnedDelegation == nil {
            pinnedDelegation = delegation
        }
        let failure = Self.judge(observations, uploaded: key, keyTag: keyTag, pinned: number > 1 ? pinnedKeys.map(Set.init) : nil) ?? validation
        rounds.append(BootstrapRound(number: number, at: now, observations: observations, failure: failure))
        if let failure {
            switch policy.onFailure {
            case .fail:
                state = .failed(reason: "round \(number): \(failure)")
                return .done
            case .restart:
                // The count starts over, and so does the KEY RRset it holds the servers to.
                pinnedKeys = nil
                state = .verifying(round: 1, nextAt: now + interval(after: observations))
                return .waitUntil(now + interval(after: observations))
            }
        }
        if number == 1 { pinnedKeys = Self.keySet(observations).sorted { $0.lexicographicallyPrecedes($1) } }
        if number < requiredRounds {
            let next = now + interval(after: observations)
            state = .verifying(round: number + 1, nextAt: next)
            return .waitUntil(next)
        }
        if policy.confirmation != .never, !approved {
            state = .awaitingConfirmation
            return .awaitConfirmation
        }
        state = .trusted(at: now)
        return .promote
    }

    /// Rounds that must pass: `policy.rounds`, one for `at-apex` and `at-ns` (validation proves
    /// the key).
    public var requiredRounds: Int { method == .atApex || method == .atNS ? 1 : policy.rounds }

    /// An `at-ns` job whose round found no signal under any nameserver continues as `unsigned`
    /// (that round counts as its round 1) when the policy offers `unsigned`; returns whether it
    /// did. A signal that exists but fails never falls back.
    public mutating func continueUnsignedWithoutSignals() -> Bool {
        guard method == .atNS, policy.methods.contains(.unsigned), case .verifying(1, _) = state else { return false }
        method = .unsigned
        return true
    }

    /// Whether every round of the current count (`policy.rounds` of them, numbered from 1)
    /// has passed. Never true for a `manual` job, which runs none: only this lets the approval
    /// command confirm a job's source, in addition to its rounds.
    public var roundsPassed: Bool {
        guard method == .unsigned, policy.rounds > 0 else { return false }
        let counted = rounds.suffix(policy.rounds)
        return counted.map(\.number) == Array(1...policy.rounds) && counted.allSatisfy { $0.failure == nil }
    }

    /// A job stored before pinning existed has neither pin: take both from the round 1 that
    /// started its current count (it passed, so every nameserver had addresses and every
    /// address served the same KEY RRset).
    mutating func pinFromRound1IfStoredBeforePinning(number: Int) {
        guard number > 1, pinnedDelegation == nil, pinnedKeys == nil, let round1 = rounds.last(where: { $0.number == 1 }), round1.failure == nil else {
            return
        }
        var addresses: [DomainName: [String]] = [:]
        for observation in round1.observations {
            guard let name = try? DomainName(observation.nameserver) else { return }
            addresses[name, default: []].append(observation.address)
        }
        pinnedDelegation = DelegationNameservers(addresses)
        pinnedKeys = Self.keySet(round1.observations).sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// The operator approves. Before the rounds have passed this only notes the approval.
    @discardableResult
    public mutating func approve(now: Int64) -> Action {
        guard !state.isFinal else { return .done }
        approved = true
        if case .awaitingConfirmation = state {
            state = .trusted(at: now)
            return .promote
        }
        return nextAction(now: now)
    }

    public mutating func reject(now: Int64) {
        guard !state.isFinal else { return }
        state = .rejected(at: now)
    }

    /// A newer upload for the same child replaces this job.
    public mutating func supersede(now: Int64) {
        guard !state.isFinal else { return }
        state = .superseded(at: now)
    }

    /// Spacing: at least the minimum interval and at least the TTL the child served for the
    /// KEY RRset (a spoofed answer cached for that long would otherwise still be there), at most
    /// the maximum interval.
    func interval(after observations: [KeyObservation]) -> Int64 {
        let ttl =
            observations.compactMap { observation -> Int64? in
                if case .answered(_, _, _, let ttl) = observation.answer { return Int64(ttl) }
                return nil
            }.max() ?? 0
        return min(policy.maximumInterval, max(policy.minimumInterval, ttl))
    }

    /// `nil` when the round passes, else the first reason it does not. `pinned` is the KEY
    /// RRset of round 1, which every address must serve in every later round.
    static func judge(_ observations: [KeyObservation], uploaded: [UInt8], keyTag: UInt16, pinned: Set<[UInt8]>? = nil) -> String? {
        guard !observations.isEmpty else { return "no nameserver address to ask" }
        var agreed: Set<[UInt8]>? = nil
        for observation in observations {
            let at = "\(observation.nameserver) at \(observation.address)"
            switch observation.answer {
            case .unreachable(let why):
                return "\(at) did not answer: \(why)"
            case .answered(let rcode, let authoritative, let keys, _):
                guard rcode == 0 else { return "\(at) answered \(RCode(rcode))" }
                guard authoritative else { return "\(at) is not authoritative (lame): no AA flag" }
                let set = Set(keys)
                guard set.contains(uploaded) else {
                    return "\(at) served \(tags(set)), uploaded key tag \(keyTag)"
                }
                if let pinned, set != pinned {
                    return "\(at) served \(tags(set)); round 1 saw \(tags(pinned)): the KEY RRset changed between rounds"
                }
                if let agreed, agreed != set {
                    return "\(at) served a different KEY RRset than the other servers"
                }
                agreed = set
            }
        }
        return nil
    }

    /// "no KEY", "key tag 1852", "key tags 1852, 4711".
    static func tags(_ keys: Set<[UInt8]>) -> String {
        let tags = keys.map { KEYData.keyTag(rdata: $0) }.sorted().map(String.init)
        return tags.isEmpty ? "no KEY" : (tags.count == 1 ? "key tag " : "key tags ") + tags.joined(separator: ", ")
    }

    /// The KEY RRset the addresses of a passed round agreed on.
    public static func keySet(_ observations: [KeyObservation]) -> Set<[UInt8]> {
        for observation in observations {
            if case .answered(_, _, let keys, _) = observation.answer { return Set(keys) }
        }
        return []
    }

    /// One screen for `delegsync status`: what happened and what the job waits for.
    public func explanation(now: Int64) -> String {
        var lines = ["\(child) key \(keyTag), uploaded from \(source)"]
        for round in rounds {
            lines.append(
                "round \(round.number) of \(requiredRounds) "
                    + (round.failure.map { "failed at \(UTCTime.text(round.at)): \($0)" } ?? "passed at \(UTCTime.text(round.at))"))
        }
        switch state {
        case .verifying(let round, let nextAt):
            lines.append(
                nextAt > now
                    ? "next: round \(round) of \(requiredRounds) at \(UTCTime.text(nextAt)) (in \(nextAt - now) s)"
                    : "next: round \(round) of \(requiredRounds) now")
        case .awaitingConfirmation where method == .manual:
            lines.append("manual bootstrap: waiting for an operator to check the key out of band and approve it (source \(source))")
        case .awaitingConfirmation:
            lines.append("waiting for operator confirmation of source \(source)")
        case .trusted(let at):
            lines.append("trusted since \(UTCTime.text(at))")
        case .failed(let reason):
            lines.append("failed: \(reason)")
        case .rejected(let at):
            lines.append("rejected by the operator at \(UTCTime.text(at))")
        case .superseded(let at):
            lines.append("superseded by a newer upload at \(UTCTime.text(at))")
        }
        return lines.joined(separator: "\n")
    }
}
