import Backends
import DNSWire
import Foundation
import DelegationCore
import Logging
import Store
import Transport

/// Runs the bootstrap jobs: for each job whose round is due, asks every address of every
/// authoritative nameserver of the child for `child KEY` directly (RD=0, TCP), records the
/// round in the job (persisted), audits it, and promotes the key when the job says so: the new
/// key becomes trusted and the child's other keys are revoked — only then (DDNS draft).
public struct BootstrapWorker: Sendable {
    let configuration: AgentConfiguration
    let store: any DelegationStore
    let reader: any ParentZoneReader
    let exchange: DNSExchange
    let logger: Logger
    /// Port the child's nameservers answer on (53; tests may use another).
    let nameserverPort: Int
    /// Backends by parent zone, to publish trusted KEYs in the parent (optional).
    let backends: [DomainName: any DelegationBackend]
    /// Jobs claimed per pass at most.
    static let batch = 100
    /// Where trusted keys and failed jobs are reported for the operator.
    let events: AgentEvents?

    public init(
        configuration: AgentConfiguration, store: any DelegationStore, reader: any ParentZoneReader, backends: [DomainName: any DelegationBackend] = [:],
        exchange: @escaping DNSExchange, logger: Logger, nameserverPort: Int = 53, events: AgentEvents? = nil
    ) {
        self.events = events
        self.backends = backends
        self.configuration = configuration
        self.store = store
        self.reader = reader
        self.exchange = exchange
        self.logger = logger
        self.nameserverPort = nameserverPort
    }

    /// Advances every job that is due at `now` (the store finds them by due time; jobs waiting
    /// for a later round or for an operator are not read) and that this agent claimed: with
    /// several agents on one store each job is worked on by one of them (a claim of an agent
    /// that died expires after the store's lease). Returns how many keys became trusted.
    @discardableResult
    public func runOnce(now: Int64) async -> Int {
        guard let jobs = try? store.claimDueBootstraps(now: now, limit: Self.batch) else { return 0 }
        var promoted = 0
        // A promotion supersedes the child's other jobs in the store: their copies here are stale.
        var promotedChildren: Set<DomainName> = []
        for var job in jobs {
            guard let zoneName = try? DomainName(job.zone), let zone = configuration.zone(named: zoneName), let child = try? DomainName(job.child),
                !promotedChildren.contains(child)
            else {
                continue
            }
            let before = job
            var action = job.nextAction(now: now)
            if case .runRound(let round) = action {
                let (observations, delegation, validation) = await observe(child: child, zone: zone, method: job.method, now: now)
                var failure: String? = nil
                var note = ""
                switch validation {
                case .passed: break
                case .failed(let why): failure = why
                case .noSignals(let why):
                    if job.continueUnsignedWithoutSignals() {
                        note = " (at-ns: \(why); continuing as unsigned, this round counts as round 1)"
                    } else {
                        failure = "at-ns: \(why)"
                    }
                }
                action = job.record(observations, delegation: delegation, validation: failure, now: now)
                let result = (job.rounds.last?.failure ?? "passed") + note
                audit(job, now: now, decision: "ROUND \(round)", reason: result, observations: observations)
            }
            // The approval command confirms the source of an `unsigned` job in addition to its
            // rounds, once they have all passed. A `manual` job is an operator's act: only
            // `delegsync keys approve` trusts its key.
            if action == .awaitConfirmation, job.method == .unsigned, job.roundsPassed, job.policy.confirmation == .command,
                let command = job.policy.approvalCommand
            {
                let verdict = await ask(command, about: job)
                if verdict.approved {
                    action = job.approve(now: now)
                } else {
                    job.reject(now: now)
                }
                audit(job, now: now, decision: verdict.approved ? "APPROVED" : "REJECTED", reason: "approval command: \(verdict.text)", observations: [])
                if !verdict.approved {
                    _ = try? Self.reject(job, zone: zone.name, child: child, store: store)
                    events?.emit(.bootstrapFailed(job, zone: zone.name, child: child, reason: "rejected by the approval command: \(verdict.text)", now: now))
                }
            }
            if action == .promote {
                do {
                    let cancelled = try promote(job, zone: zone.name, child: child, now: now)
                    promoted += 1
                    promotedChildren.insert(child)
                    audit(job, now: now, decision: "TRUSTED", reason: "key \(job.keyTag) for \(child) is trusted; older keys revoked", observations: [])
                    events?.emit(.keyTrusted(job, zone: zone.name, child: child, now: now))
                    if cancelled > 0 {
                        events?.emit(
                            .changesCancelled(
                                zone: zone.name, child: child, count: cancelled, because: "key \(job.keyTag) became trusted in its place", now: now))
                    }
                } catch {
                    logger.error("cannot promote a key", metadata: ["delegsync.child": "\(child)", "delegsync.error": "\(error)"])
                    continue
                }
            }
            if case .failed(let reason) = job.state, before.state != job.state {
                audit(job, now: now, decision: "FAILED", reason: reason, observations: [])
                events?.emit(.bootstrapFailed(job, zone: zone.name, child: child, reason: reason, now: now))
            }
            // Saved before the KEY is published: `status` never shows a trusted key whose job
            // still waits for its last round.
            if job != before { try? store.putBootstrap(job, now: now) }
            if action == .promote, job.policy.publishKey, let backend = backends[zone.name] {
                await publish(job, child: child, zone: zone, backend: backend, now: now)
            }
        }
        return promoted
    }

    /// Returns how many queued changes of revoked keys were cancelled.
    @discardableResult
    func promote(_ job: KeyBootstrap, zone: DomainName, child: DomainName, now: Int64) throws -> Int {
        try Self.promote(job, zone: zone, child: child, store: store, now: now)
    }

    /// The key of a job that reached `trusted` becomes trusted; the child's other keys are
    /// revoked (only now: DDNS draft) and its other unfinished jobs superseded — each by its
    /// identity, so a key that merely shares the tag is told apart. Also used when an operator
    /// approves. Returns how many queued changes of revoked keys were cancelled.
    @discardableResult
    public static func promote(_ job: KeyBootstrap, zone: DomainName, child: DomainName, store: any DelegationStore, now: Int64) throws -> Int {
        guard let data = try? KEYData(rdata: job.key) else { return 0 }
        try store.putKey(
            StoredKey(
                zone: zone, child: child, keyTag: job.keyTag, algorithm: data.algorithm, rdata: job.key, state: .trusted, addedAt: now, origin: "bootstrap"))
        var cancelled = 0
        for key in try store.keys(zone: zone, child: child) where key.rdata != job.key && key.state != .revoked {
            cancelled += try store.setKeyState(key.identity, state: .revoked).cancelledChanges
        }
        for var other in try store.bootstraps(child: child, activeOnly: true) where other.key != job.key && (try? DomainName(other.zone)) == zone {
            other.supersede(now: now)
            try store.putBootstrap(other, now: now)
        }
        return cancelled
    }

    /// A rejected job's key is revoked — that key only, and only while it is not trusted (a
    /// rejection never touches a key that was proven otherwise).
    public static func reject(_ job: KeyBootstrap, zone: DomainName, child: DomainName, store: any DelegationStore) throws {
        let identity = KeyIdentity(zone: zone, child: child, rdata: job.key)
        guard let key = try store.key(identity), key.state == .known else { return }
        try store.setKeyState(identity, state: .revoked)
    }

    /// Writes the trusted KEY at the delegation in the parent zone (replacing older KEYs there).
    /// A failure is logged and audited; trust does not depend on it.
    func publish(_ job: KeyBootstrap, child: DomainName, zone: AgentConfiguration.Zone, backend: any DelegationBackend, now: Int64) async {
        var update = Update(zone: zone.name)
        update.deleteRRset(child, .key)
        update.add(Record(name: child, type: .key, ttl: zone.ttl, rdata: job.key))
        do {
            try await backend.apply(update)
            audit(
                job, now: now, decision: "PUBLISHED", reason: "KEY \(job.keyTag) written at \(child) in \(zone.name) (\(backend.description))", observations: []
            )
        } catch {
            logger.error("cannot publish the trusted KEY", metadata: ["delegsync.child": "\(child)", "delegsync.error": "\(error)"])
            audit(job, now: now, decision: "PUBLISH FAILED", reason: "\(backend.description): \(error)", observations: [])
        }
    }

    /// Runs the approval command with the job (child, key, source, rounds) as JSON on stdin.
    func ask(_ command: [String], about job: KeyBootstrap) async -> (approved: Bool, text: String) {
        let input = (try? JSONEncoder().encode(job)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        do {
            let result = try await ExternalCommand(command, timeLimit: 60).run(input: input)
            let output = result.output.isEmpty ? "" : ": \(result.output)"
            return (result.status == 0 && !result.timedOut, "exit status \(result.status)\(output)")
        } catch {
            return (false, "\(error)")
        }
    }

    /// What DNSSEC validation said about a round (`at-apex`, `at-ns`).
    enum RoundValidation: Sendable, Equatable {
        /// Validated, or the method validates nothing (`unsigned`, `manual`).
        case passed
        /// Why the round fails: waiting will not help.
        case failed(String)
        /// `at-ns` found no signal under any nameserver: why.
        case noSignals(String)
    }

    /// One observation per address of every NS of the child's delegation in the parent, and
    /// that delegation (the NS names with their addresses) for the job to pin and compare;
    /// `nil` when it could not be read completely (the parent did not answer, a resolver lookup
    /// failed, no resolver for a name outside the child): the observations then say why, and
    /// the round fails. `at-apex`: the KEY and DNSKEY RRsets are asked with the DO bit, and each
    /// server's KEY RRset is validated under the parent's DS
    /// (``KeyBootstrap/validateAtApex(_:child:ds:now:)``). `at-ns`: the signals
    /// `_sig0key.<child>._signal.<ns>` are looked up through the zone's resolver with their
    /// chain (``SignalLookup``) and judged from the zone's trust anchor
    /// (``KeyBootstrap/validateAtNS(_:child:nameservers:apex:anchor:now:)``).
    func observe(child: DomainName, zone: AgentConfiguration.Zone, method: BootstrapPolicy.Method = .unsigned, now: Int64 = 0) async -> (
        observations: [KeyObservation], delegation: DelegationNameservers?, validation: RoundValidation
    ) {
        let snapshot: DelegationSnapshot?
        do {
            snapshot = try await reader.delegation(in: zone, child: child)
        } catch {
            let why = "cannot read the delegation from the parent: \(error)"
            return ([KeyObservation(nameserver: zone.name, address: zone.primaryAddress, answer: .unreachable(why))], nil, .passed)
        }
        guard let snapshot else {
            let why = "\(child) is not delegated from \(zone.name)"
            return ([KeyObservation(nameserver: zone.name, address: zone.primaryAddress, answer: .unreachable(why))], nil, .passed)
        }
        let validating = method == .atApex
        var signed: [(server: String, records: [Record])] = []
        var observations: [KeyObservation] = []
        var known: [DomainName: [String]] = [:]
        var complete = true
        let addresses = NameserverAddresses(exchange: exchange, resolver: zone.resolver)
        for nameserver in snapshot.nameservers.sorted() {
            switch await addresses.lookup(nameserver, child: child, glue: snapshot.glue[nameserver] ?? []) {
            case .failure(let missing):
                complete = false
                observations.append(KeyObservation(nameserver: nameserver, address: "-", answer: .unreachable("\(missing)")))
            case .success(let found):
                known[nameserver] = found
                for address in found {
                    let (answer, records) = await ask(child: child, at: address, dnssec: validating)
                    observations.append(KeyObservation(nameserver: nameserver, address: address, answer: answer))
                    signed.append(("\(nameserver) at \(address)", records))
                }
            }
        }
        let delegation = complete ? DelegationNameservers(known) : nil
        switch method {
        case .atApex:
            let why = KeyBootstrap.validateAtApex(signed, child: child, ds: snapshot.ds, now: now)
            return (observations, delegation, why.map(RoundValidation.failed) ?? .passed)
        case .atNS:
            return (
                observations, delegation,
                await signals(child: child, nameservers: snapshot.nameservers, apex: KeyBootstrap.keySet(observations), zone: zone, now: now)
            )
        case .unsigned, .manual:
            return (observations, delegation, .passed)
        }
    }

    /// The `at-ns` signals of `child` under its nameservers, judged.
    func signals(child: DomainName, nameservers: Set<DomainName>, apex: Set<[UInt8]>, zone: AgentConfiguration.Zone, now: Int64) async -> RoundValidation {
        guard let anchor = zone.scanner.trustAnchor, let resolver = zone.resolver else {
            return .failed("at-ns needs scanner.trust-anchor-file and bootstrap.resolver in the configuration of \(zone.name)")
        }
        let lookup = SignalLookup(exchange: exchange, resolver: resolver)
        var signaling: [SignalingObservation] = []
        for (nameserver, name) in KeyBootstrap.atNSNames(child: child, nameservers: nameservers) {
            signaling.append(await lookup.observe(name, nameserver: nameserver, types: [.key], anchor: anchor))
        }
        switch KeyBootstrap.validateAtNS(signaling, child: child, nameservers: nameservers, apex: apex, anchor: anchor, now: now) {
        case .authenticated: return .passed
        case .failed(let why): return .failed("at-ns: \(why)")
        case .absent(let why): return .noSignals(why)
        }
    }

    /// `child KEY` at one address; with `dnssec`, also `child DNSKEY`, both with the DO bit: the
    /// answer and the records at the child (RRSIGs included) for validation.
    func ask(child: DomainName, at address: String, dnssec: Bool = false) async -> (KeyObservation.Answer, [Record]) {
        do {
            let reply = try await DirectQuery.ask(child, .key, at: address, port: nameserverPort, dnssecOK: dnssec, exchange: exchange)
            let keys = reply.answer.filter { $0.type == .key && $0.name == child }
            var records = reply.answer.filter { $0.name == child }
            if dnssec {
                records += try await DirectQuery.ask(child, .dnskey, at: address, port: nameserverPort, dnssecOK: true, exchange: exchange).answer.filter {
                    $0.name == child
                }
            }
            return (.answered(rcode: reply.rcode.rawValue, authoritative: reply.header.aa, keys: keys.map(\.rdata), ttl: keys.map(\.ttl).max() ?? 0), records)
        } catch {
            return (.unreachable("\(error)"), [])
        }
    }

    func audit(_ job: KeyBootstrap, now: Int64, decision: String, reason: String, observations: [KeyObservation]) {
        let lines = observations.map { observation -> String in
            switch observation.answer {
            case .unreachable(let why): return "\(observation.nameserver) \(observation.address): \(why)"
            case .answered(let rcode, let aa, let keys, let ttl):
                let tags = keys.map { String(KEYData.keyTag(rdata: $0)) }.joined(separator: ",")
                return "\(observation.nameserver) \(observation.address): \(RCode(rcode))\(aa ? " aa" : "") KEY tags [\(tags)] ttl \(ttl)"
            }
        }
        do {
            try store.appendAudit(
                AuditEntry(
                    time: now, source: job.source, transport: "bootstrap", zone: job.zone, signer: job.child, keyTag: job.keyTag,
                    request: lines.joined(separator: "\n"), decision: decision, reason: reason))
        } catch {
            logger.error("cannot write the audit log", metadata: ["delegsync.child": "\(job.child)", "delegsync.error": "\(error)"])
        }
    }
}
