import Backends
import DNSWire
import DelegationCore
import Logging
import NIOConcurrencyHelpers
import SIG0
import Store
import Transport

/// The parent side's decision pipeline for delegation UPDATEs, cheapest checks first and crypto
/// last (DESIGN.md; CVE-2024-1975): structure → opcode → zone → one SIG(0), last → signer is a
/// child → key in the trust store (BADKEY) → time window → signature → replay → policy →
/// prerequisites → commit through the backend. NOERROR means committed at the primary and seen
/// there again. Every decision goes to the audit log.
///
/// One deliberate change of order against the issue text: the key lookup (local) comes before
/// reading the delegation from the primary (network), so unauthenticated requests never make the
/// agent query the primary.
public final class UpdateReceiver: Sendable {
    let configuration: AgentConfiguration
    let store: any DelegationStore
    let backends: [DomainName: any DelegationBackend]
    let reader: any ParentZoneReader
    let clock: @Sendable () -> Int64
    let logger: Logger
    let verifier: SIG0Verifier
    let locks = ChildLocks()
    let guardian: RequestGuard
    /// Each zone's policy engine, built once.
    let policies: [DomainName: DelegationPolicyEngine]

    /// Signs replies when the configuration names the receiver's own key.
    let identity: SIG0Signer?
    /// Counters for the Prometheus endpoint.
    let metrics: AgentMetrics
    /// Asks the child's servers for the content checks before a commit.
    let contentProbe: ChildContentProbe

    public init(
        configuration: AgentConfiguration, store: any DelegationStore, backends: [DomainName: any DelegationBackend], reader: any ParentZoneReader,
        contentProbe: ChildContentProbe, clock: @escaping @Sendable () -> Int64, logger: Logger, identity: SIG0Signer? = nil,
        metrics: AgentMetrics = AgentMetrics()
    ) {
        self.contentProbe = contentProbe
        self.metrics = metrics
        self.identity = identity
        self.configuration = configuration
        self.store = store
        self.backends = backends
        self.reader = reader
        self.clock = clock
        self.logger = logger
        self.verifier = SIG0Verifier(allowedSkew: configuration.signature.allowedSkew, maximumValidity: configuration.signature.maximumValidity)
        self.guardian = RequestGuard(perHour: configuration.limits.updatesPerChildPerHour)
        self.policies = Dictionary(configuration.zones.map { ($0.name, OutboxWorker.policy(for: $0)) }, uniquingKeysWith: { first, _ in first })
    }

    /// Parsed public keys by KEY RDATA: building an OpenSSL key per request costs more than
    /// the lookup. Keys never change under the same RDATA, so the cache needs no invalidation.
    let parsedKeys = NIOLockedValueBox<[[UInt8]: SIG0PublicKey]>([:])

    func publicKey(_ rdata: [UInt8]) throws -> SIG0PublicKey {
        if let key = parsedKeys.withLockedValue({ $0[rdata] }) { return key }
        let key = try SIG0PublicKey(KEYData(rdata: rdata))
        parsedKeys.withLockedValue { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[rdata] = key
        }
        return key
    }

    /// Trust-store lookups, remembered for one second: a revocation with `delegsync keys revoke`
    /// takes effect within a second, and a burst of UPDATEs does not query SQLite each time.
    let keyLookups = NIOLockedValueBox<[KeyLookup: (key: StoredKey?, at: Int64)]>([:])

    struct KeyLookup: Hashable {
        let zone: DomainName
        let child: DomainName
        let keyTag: UInt16
        let algorithm: UInt8
    }

    func trustedKey(zone: DomainName, child: DomainName, keyTag: UInt16, algorithm: UInt8, now: Int64) throws -> StoredKey? {
        let lookup = KeyLookup(zone: zone, child: child, keyTag: keyTag, algorithm: algorithm)
        if let hit = keyLookups.withLockedValue({ $0[lookup] }), hit.at == now { return hit.key }
        let key = try store.key(zone: zone, child: child, keyTag: keyTag, algorithm: algorithm)
        keyLookups.withLockedValue { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[lookup] = (key, now)
        }
        return key
    }

    /// What was decided, for the reply and the audit log.
    public struct Outcome: Sendable {
        public internal(set) var rcode: RCode
        /// The Extended DNS Error INFO-CODE (RFC 8914) that goes with a non-NOERROR rcode.
        public internal(set) var infoCode: UInt16?
        /// Why, in words an operator (and the child) can act on; the EDE EXTRA-TEXT.
        public internal(set) var reason: String
        public internal(set) var zone: DomainName?
        public internal(set) var signer: DomainName?
        public internal(set) var keyTag: UInt16?
        public internal(set) var backendResult: String?
        /// KEY-STATE to report when the request carried a KeyState option.
        public internal(set) var keyState: KeyStateOption.State? = nil
        /// The rule that decided a refusal (a policy rule or a SIG(0) check), for the metrics.
        public internal(set) var rule: String? = nil

        static func reject(_ rcode: RCode, _ infoCode: UInt16, _ reason: String) -> Outcome {
            Outcome(rcode: rcode, infoCode: infoCode, reason: reason)
        }
    }

    /// A request checked, verified and decided: the parsed message (nil when it did not parse)
    /// and the outcome. Nothing is audited or answered yet.
    public struct Decision: Sendable {
        public let message: Message?
        public let outcome: Outcome
    }

    /// Runs the decision pipeline on one request as received (and, for an accepted change, the
    /// commit); returns nil when no reply is due (a response, or shorter than a header).
    public func decide(_ bytes: [UInt8], context: DNSRequestContext, now: Int64) async -> Decision? {
        guard bytes.count >= MessageLayout.headerLength, bytes[2] & 0x80 == 0 else { return nil }
        let layout: MessageLayout
        let message: Message
        do {
            layout = try MessageLayout(scanning: bytes)
            message = try Message(wire: bytes, layout: layout)
        } catch {
            return Decision(message: nil, outcome: .reject(.formErr, DelegationEDE.invalidData, "malformed message: \(error)"))
        }
        var outcome = await decide(bytes, layout: layout, message: message, context: context, now: now)
        if outcome.rcode.isExtended && message.edns == nil {
            outcome.reason += " (sent as REFUSED: the request had no OPT record)"
        }
        return Decision(message: message, outcome: outcome)
    }

    /// Handles one request as received: decides, audits, answers. Returns the reply, or `nil`
    /// when none is due.
    public func handle(_ bytes: [UInt8], context: DNSRequestContext) async -> [UInt8]? {
        let now = clock()
        guard let decision = await decide(bytes, context: context, now: now) else { return nil }
        let outcome = decision.outcome
        metrics.request(rcode: outcome.rcode, infoCode: outcome.infoCode, rule: outcome.rule)
        guard let message = decision.message else {
            audit(now: now, context: context, request: "", outcome: outcome)
            return ResponseBuilder.reply(toUnparsed: bytes, rcode: .formErr)
        }
        let requestText = message.updates.map(\.description).joined(separator: "\n")
        audit(now: now, context: context, request: requestText, outcome: outcome)
        logger.info(
            "update",
            metadata: [
                "delegsync.source": "\(context.source)", "delegsync.transport": "\(context.transport)",
                "delegsync.signer": "\(outcome.signer?.description ?? "-")", "delegsync.rcode": "\(outcome.rcode)",
                "delegsync.reason": "\(outcome.reason)",
            ])
        let error = outcome.infoCode.map { ExtendedDNSError(infoCode: $0, extraText: outcome.reason) }
        // KeyState (draft-berra-dnsop-keystate): only when the request carried one.
        var keyState: EDNSOption? = nil
        if let asked = message.edns?.keyState(code: configuration.keyStateOptionCode), let state = outcome.keyState {
            keyState = KeyStateOption(keyID: outcome.keyTag ?? asked.keyID, state: state, extraText: outcome.reason).option(
                code: configuration.keyStateOptionCode)
        }
        let reply = ResponseBuilder.reply(to: message, rcode: outcome.rcode, error: error, keyState: keyState)
        // Mutual authentication: the reply is signed over the request as received and the reply
        // (RFC 2535 §4.1.8.1), so the child can tell the parent's answer from a forged one.
        if let identity,
            let signed = try? identity.sign(
                reply, inception: UInt32(truncatingIfNeeded: now) &- SIG0Signer.defaultFudge,
                expiration: UInt32(truncatingIfNeeded: now) &+ SIG0Signer.defaultFudge, request: bytes)
        {
            return signed
        }
        return reply
    }

    func audit(now: Int64, context: DNSRequestContext, request: String, outcome: Outcome) {
        let entry = AuditEntry(
            time: now, source: context.source, transport: context.transport.rawValue, zone: outcome.zone?.description,
            signer: outcome.signer?.description, keyTag: outcome.keyTag, request: request, decision: outcome.rcode.description,
            reason: outcome.reason, backendResult: outcome.backendResult)
        do {
            try store.appendAudit(entry)
        } catch {
            logger.error("cannot write the audit log", metadata: ["delegsync.error": "\(error)"])
        }
    }

    func decide(_ bytes: [UInt8], layout: MessageLayout, message: Message, context: DNSRequestContext, now: Int64) async -> Outcome {
        if message.opcode == .query, let inquiry = message.edns?.keyState(code: configuration.keyStateOptionCode), inquiry.state == .inquiry {
            return keyStateInquiry(message, inquiry: inquiry, now: now)
        }
        guard message.opcode == .update else {
            return .reject(.notImp, DelegationEDE.notSupported, "opcode \(message.opcode) is not served here; send UPDATE")
        }
        guard message.zone.count == 1, let question = message.zone.first, question.type == .soa, question.qclass == .in else {
            return .reject(.formErr, DelegationEDE.invalidData, "the zone section must hold one IN SOA record naming the parent zone (RFC 2136 §3.1.1)")
        }
        guard let zone = configuration.zone(named: question.name) else {
            return .reject(.notAuth, DelegationEDE.notAuthoritative, "\(question.name) is not a zone this agent serves")
        }
        var outcome = Outcome(rcode: .refused, reason: "", zone: zone.name)

        // One SIG(0), last, well-formed.
        let signature: SIG0Signature
        do {
            signature = try SIG0Signature(message: bytes, layout: layout)
        } catch {
            switch error.reason {
            case .noSignature:
                let tsig = layout.spans(in: .additional).contains { $0.type == .tsig }
                outcome.infoCode = DelegationEDE.prohibited
                outcome.reason =
                    tsig
                    ? "TSIG-signed UPDATEs are not accepted here; sign with the child's SIG(0) key"
                    : "unsigned UPDATEs are not accepted; sign with the child's SIG(0) key"
            default:
                outcome.rcode = .formErr
                outcome.infoCode = DelegationEDE.invalidData
                outcome.reason = "\(error.reason.rawValue): \(error.detail)"
            }
            return outcome
        }
        let sig = signature.sig
        let child = sig.signerName
        outcome.signer = child
        outcome.keyTag = sig.keyTag
        guard child.isSubdomain(of: zone.name), child != zone.name else {
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "the signer \(child) is not a child of \(zone.name)"
            return outcome
        }

        let update: Update
        do {
            update = try Update(message: message)
        } catch {
            outcome.rcode = .formErr
            outcome.infoCode = DelegationEDE.invalidData
            outcome.reason = "\(error)"
            return outcome
        }
        if let uploaded = Self.selfSignedUpload(update, child: child, sig: sig) {
            // KeyState (draft-berra-dnsop-keystate): 0 asks for automatic bootstrap, 1 for manual.
            let asked = message.edns?.keyState(code: configuration.keyStateOptionCode)?.state
            let requested: BootstrapPolicy.Method? =
                asked == .requestManualBootstrap ? .manual : asked == .requestAutoBootstrap ? .unsigned : nil
            return await acceptUpload(
                uploaded, signature: signature, zone: zone, child: child, requested: requested, context: context, base: outcome, now: now)
        }

        // The key: trust store lookup by signer, key tag and algorithm.
        let stored: StoredKey?
        do {
            stored = try trustedKey(zone: zone.name, child: child, keyTag: sig.keyTag, algorithm: sig.algorithm, now: now)
        } catch {
            return Outcome(
                rcode: .servFail, infoCode: DelegationEDE.other, reason: "the trust store failed: \(error)", zone: zone.name, signer: child, keyTag: sig.keyTag)
        }
        guard let stored, stored.state != .revoked else {
            outcome.rcode = .badKey
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason =
                "no trusted key \(sig.keyTag) (algorithm \(sig.algorithm)) for \(child); bootstrap the key first (bootstrap methods offered: \(zone.bootstrap.offered))"
            return outcome
        }
        guard stored.state == .trusted else {
            outcome.infoCode = DelegationEDE.keyKnownNotTrusted
            outcome.reason = "key \(sig.keyTag) for \(child) is known but not yet trusted (bootstrap methods offered: \(zone.bootstrap.offered))"
            outcome.keyState = .bootstrapAutoOngoing
            return outcome
        }

        // Time, then the signature.
        do {
            try verify(signature, key: publicKey(stored.rdata), child: child, now: now)
        } catch let rejection as SIG0Rejection {
            outcome.rcode = Self.rcode(for: rejection)
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "\(rejection.reason.rawValue): \(rejection.detail)"
            outcome.rule = rejection.reason.rawValue
            return outcome
        } catch {
            outcome.rcode = .badKey
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "the stored key \(sig.keyTag) for \(child) is unusable: \(error)"
            return outcome
        }

        // Replay (RFC 2931 §3.3: nothing older than the newest accepted inception, no signature
        // twice) and the per-child rate limit, in one step.
        let store = self.store
        let zoneName = zone.name
        let keyTag = sig.keyTag
        let verdict = guardian.admit(
            zone: zoneName, child: child, keyTag: keyTag, inception: sig.inception, signature: sig.signature,
            expiresAt: Int64(sig.expiration) + Int64(configuration.signature.allowedSkew), now: now
        ) { try? store.lastInception(zone: zoneName, child: child, keyTag: keyTag) }
        switch verdict {
        case .older(let last):
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "signature inception \(sig.inception) is older than the last accepted (\(last)): replayed or reordered"
            return outcome
        case .replayed:
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "this signature was seen before: replayed"
            return outcome
        case .rateLimited:
            outcome.infoCode = DelegationEDE.blocked
            outcome.reason = "more than \(configuration.limits.updatesPerChildPerHour) UPDATEs from \(child) in the last hour"
            return outcome
        case .admitted(let newInception):
            if newInception { try? store.recordInception(zone: zoneName, child: child, keyTag: keyTag, inception: sig.inception) }
        }

        let base = outcome
        return await locks.withLock(child) {
            await self.commit(update, zone: zone, child: child, base: base, now: now)
        }
    }

    /// One SIG(0) check (time window, then the signature against one key), timed for the metrics.
    func verify(_ signature: SIG0Signature, key: SIG0PublicKey, child: DomainName, now: Int64) throws(SIG0Rejection) {
        let start = ContinuousClock.now
        do {
            try verifier.verify(signature, key: key, expectedSigner: child, now: UInt32(truncatingIfNeeded: now))
        } catch {
            metrics.verification(ok: false, seconds: Self.seconds(since: start))
            throw error
        }
        metrics.verification(ok: true, seconds: Self.seconds(since: start))
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// The RCODE for a signature that does not verify (RFC 2845 §4.5 codes, as SIG(0) uses them):
    /// BADTIME for the time window, BADSIG for the signature, BADKEY for the key.
    static func rcode(for rejection: SIG0Rejection) -> RCode {
        switch rejection.reason {
        case .notYetValid, .expired, .windowAbsurd: .badTime
        case .badSignature, .signatureLength: .badSig
        default: .badKey
        }
    }

    /// A KeyState inquiry (draft-berra-dnsop-keystate): a QUERY for the child's name with the
    /// option (state 2, the key tag). The answer reports what the agent knows of that key:
    /// trusted (4), bootstrap ongoing (9), waiting for the operator (10), validation failed (8),
    /// refused by the operator (7), unknown (5).
    func keyStateInquiry(_ message: Message, inquiry: KeyStateOption, now: Int64) -> Outcome {
        guard let question = message.question.first,
            let zone = configuration.zones.first(where: { question.name.isSubdomain(of: $0.name) && question.name != $0.name })
        else {
            return .reject(
                .notAuth, DelegationEDE.notAuthoritative, "no zone served here has \(message.question.first?.name.description ?? "that name") as a child")
        }
        let child = question.name
        var outcome = Outcome(rcode: .noError, reason: "", zone: zone.name, signer: child, keyTag: inquiry.keyID)
        let keys = (try? store.keys(zone: zone.name, child: child)) ?? []
        let jobs = ((try? store.bootstraps(child: child, activeOnly: false)) ?? []).filter { $0.keyTag == inquiry.keyID }
        if keys.contains(where: { $0.keyTag == inquiry.keyID && $0.state == .trusted }) {
            outcome.keyState = .trusted
            outcome.reason = "key \(inquiry.keyID) for \(child) is trusted"
        } else if let job = jobs.last {
            switch job.state {
            case .verifying:
                outcome.keyState = .bootstrapAutoOngoing
            case .awaitingConfirmation:
                outcome.keyState = .bootstrapManualRequired
            case .failed:
                outcome.keyState = .validationFailed
            case .rejected:
                outcome.keyState = .refused
            case .superseded, .trusted:
                outcome.keyState = .unknown
            }
            outcome.reason = job.explanation(now: now).split(separator: "\n").last.map(String.init) ?? ""
        } else {
            outcome.keyState = .unknown
            outcome.reason = "key \(inquiry.keyID) for \(child) is not known here"
        }
        return outcome
    }

    /// The self-signed key upload of the DDNS draft: `update delete CHILD ANY KEY` then
    /// `update add CHILD KEY <new key>`, signed by that new key. Returns the new KEY RDATA.
    static func selfSignedUpload(_ update: Update, child: DomainName, sig: SIGData) -> [UInt8]? {
        guard update.prerequisites.isEmpty, update.operations.count == 2,
            update.operations[0] == .deleteRRset(child, .key),
            case .add(let record) = update.operations[1], record.name == child, record.type == .key,
            let key = try? KEYData(rdata: record.rdata), key.keyTag == sig.keyTag, key.algorithm == sig.algorithm
        else { return nil }
        return record.rdata
    }

    /// Stores an uploaded key as known and starts (or restarts) its bootstrap job. The child's
    /// trusted key, if any, stays trusted until the new one is (DDNS draft: a forged upload must
    /// not knock a child's key out).
    func acceptUpload(
        _ rdata: [UInt8], signature: SIG0Signature, zone: AgentConfiguration.Zone, child: DomainName, requested: BootstrapPolicy.Method?,
        context: DNSRequestContext, base: Outcome, now: Int64
    ) async -> Outcome {
        var outcome = base
        outcome.keyTag = signature.sig.keyTag
        guard let method = zone.bootstrap.method(requested: requested) else {
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "\(zone.name) accepts no key uploads (bootstrap methods offered: none); ask its operator to install the key"
            outcome.keyState = .refused
            return outcome
        }
        guard context.transport == .tcp else {
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "send the self-signed KEY upload over TCP, not UDP"
            return outcome
        }
        do {
            try verify(signature, key: publicKey(rdata), child: child, now: now)
        } catch let rejection as SIG0Rejection {
            outcome.rule = rejection.reason.rawValue
            outcome.rcode = Self.rcode(for: rejection)
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "the upload is not signed by the key it carries: \(rejection.reason.rawValue): \(rejection.detail)"
            return outcome
        } catch {
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "the uploaded key is unusable: \(error)"
            return outcome
        }
        let keyTag = signature.sig.keyTag
        let store = self.store
        let verdict = guardian.admit(
            zone: zone.name, child: child, keyTag: keyTag, inception: signature.sig.inception, signature: signature.sig.signature,
            expiresAt: Int64(signature.sig.expiration) + Int64(configuration.signature.allowedSkew), now: now
        ) { [zoneName = zone.name] in try? store.lastInception(zone: zoneName, child: child, keyTag: keyTag) }
        guard case .admitted = verdict else {
            outcome.infoCode = verdict == .rateLimited ? DelegationEDE.blocked : DelegationEDE.prohibited
            outcome.reason = verdict == .rateLimited ? "too many requests from \(child) in the last hour" : "the upload was replayed"
            return outcome
        }
        do {
            let existing = try store.key(zone: zone.name, child: child, keyTag: keyTag, algorithm: signature.sig.algorithm)
            if let existing, existing.rdata == rdata, existing.state == .trusted {
                outcome.rcode = .noError
                outcome.reason = "key \(keyTag) for \(child) is trusted already"
                outcome.keyState = .trusted
                return outcome
            }
            if existing?.rdata != rdata || existing?.state == .revoked {
                try store.putKey(
                    StoredKey(
                        zone: zone.name, child: child, keyTag: keyTag, algorithm: signature.sig.algorithm, rdata: rdata, state: .known, addedAt: now,
                        origin: "upload"))
                // The lookup cache may hold "no such key" for this second.
                keyLookups.withLockedValue { $0.removeAll() }
            }
            for var older in try store.bootstraps(child: child, activeOnly: true) where older.key != rdata {
                older.supersede(now: now)
                try store.putBootstrap(older, now: now)
            }
            if try store.bootstraps(child: child, activeOnly: true).contains(where: { $0.key == rdata }) {
                outcome.rcode = .noError
                outcome.reason = "key \(keyTag) for \(child): a bootstrap job is under way"
                outcome.keyState = .bootstrapAutoOngoing
                return outcome
            }
            let job = KeyBootstrap(
                zone: zone.name, child: child, key: rdata, source: "\(context.sourceAddress) (\(context.transport.rawValue.uppercased()))", now: now,
                policy: zone.bootstrap, method: method)
            try store.putBootstrap(job, now: now)
        } catch {
            outcome.rcode = .servFail
            outcome.infoCode = DelegationEDE.other
            outcome.reason = "cannot store the upload: \(error)"
            return outcome
        }
        outcome.rcode = .noError
        let offered = "bootstrap methods offered: \(zone.bootstrap.offered)"
        switch method {
        case .manual:
            outcome.reason =
                "key \(keyTag) for \(child) is known; manual bootstrap: the parent's operator must check the key and approve it"
                + (requested == .unsigned ? " (automatic bootstrap is not offered here)" : "") + "; \(offered)"
            outcome.keyState = .bootstrapManualRequired
        case .unsigned:
            outcome.reason =
                "key \(keyTag) for \(child) is known; bootstrap started: \(zone.bootstrap.rounds) rounds over every nameserver of the child"
                + (zone.bootstrap.confirmation == .always ? ", then an operator's confirmation" : "")
                + (requested == .manual ? " (manual bootstrap is not offered here)" : "") + "; \(offered)"
            outcome.keyState = zone.bootstrap.confirmation == .never ? .bootstrapAutoOngoing : .bootstrapManualRequired
        }
        return outcome
    }

    /// Policy, prerequisites, then the backend; under the child's lock.
    func commit(_ update: Update, zone: AgentConfiguration.Zone, child: DomainName, base: Outcome, now: Int64) async -> Outcome {
        var outcome = base
        let current: DelegationSnapshot?
        do {
            current = try await reader.delegation(in: zone, child: child)
        } catch {
            outcome.rcode = .servFail
            outcome.infoCode = DelegationEDE.noReachableAuthority
            // The request is authenticated: keep it, and let the outbox decide and apply it
            // against the parent's data once the primary answers again. Prerequisites cannot
            // wait (they are about the zone as it is now), so such requests must be resent.
            if update.prerequisites.isEmpty,
                (try? store.enqueue(
                    OutboxEntry(
                        zone: zone.name, child: child, operations: update.operations, createdAt: now, nextAttemptAt: now + OutboxWorker.backoff(attempts: 0))))
                    != nil
            {
                outcome.reason = "\(error); the change is stored and will be checked and applied when the primary answers"
            } else {
                outcome.reason = "\(error)"
            }
            return outcome
        }
        guard let current else {
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "\(child) is not delegated from \(zone.name)"
            return outcome
        }
        let request = DelegationRequest(zone: zone.name, child: child, prerequisites: update.prerequisites, operations: update.operations, current: current)
        if case .reject(let violation) = (policies[zone.name] ?? OutboxWorker.policy(for: zone)).evaluate(request) {
            outcome.rule = violation.rule
            outcome.infoCode = violation.infoCode
            outcome.reason = violation.description
            return outcome
        }
        if let failed = current.evaluate(update.prerequisites) {
            outcome.rcode = failed
            outcome.infoCode = DelegationEDE.prohibited
            outcome.reason = "a prerequisite does not hold (RFC 2136 §3.2): \(failed)"
            return outcome
        }
        // A KEY change (rollover) signed by the trusted key: who is trusted afterwards.
        var rollover: KeyRollover? = nil
        do {
            if KeyRollover.touchesKeys(update.operations, child: child) {
                let trusted = try store.keys(zone: zone.name, child: child).filter { $0.state == .trusted }.map(\.rdata)
                rollover = try KeyRollover(operations: update.operations, child: child, trusted: Set(trusted))
            }
        } catch let violation as PolicyViolation {
            outcome.rule = violation.rule
            outcome.infoCode = violation.infoCode
            outcome.reason = violation.description
            return outcome
        } catch {
            outcome.rcode = .servFail
            outcome.infoCode = DelegationEDE.other
            outcome.reason = "the trust store failed: \(error)"
            return outcome
        }
        let operations = request.operations(ttl: zone.ttl)
        // The snapshot tracks data, not TTLs: the policy's result is what the parent will hold.
        guard let expected = request.result else {
            outcome.rcode = .formErr
            outcome.infoCode = DelegationEDE.invalidData
            outcome.reason = "an NS record's data is not a domain name"
            return outcome
        }
        guard expected != current else {
            outcome.rcode = .noError
            outcome.reason = "nothing to change: the parent already holds this delegation"
            return roll(rollover, zone: zone.name, child: child, outcome: outcome, now: now)
        }
        // Content checks (issue 10, point 7): the result against the child's own servers; UpdateReceiver+ContentCheck.swift.
        if let refused = await checkContent(current: current, result: expected, zone: zone, base: outcome) { return refused }
        let entry = OutboxEntry(zone: zone.name, child: child, operations: operations, createdAt: now, nextAttemptAt: now)
        let id: Int64
        do {
            id = try store.enqueue(entry)
        } catch {
            outcome.rcode = .servFail
            outcome.infoCode = DelegationEDE.other
            outcome.reason = "cannot store the change: \(error)"
            return outcome
        }
        let result = await OutboxWorker.apply(
            entry, id: id, expected: expected, zone: zone, backend: backends[zone.name], reader: reader, store: store, metrics: metrics, now: now)
        outcome.backendResult = result.text
        if result.applied {
            outcome.rcode = .noError
            outcome.reason = "applied"
            return roll(rollover, zone: zone.name, child: child, outcome: outcome, now: now)
        } else {
            outcome.rcode = .servFail
            outcome.infoCode = DelegationEDE.networkError
            outcome.reason = "the change is stored and will be retried: \(result.text)"
        }
        return outcome
    }

    /// Applies a committed KEY change to the trust store: added keys trusted (origin
    /// "rollover"), deleted ones revoked. A change deferred to the outbox is not applied here:
    /// the child sends it again after SERVFAIL.
    func roll(_ rollover: KeyRollover?, zone: DomainName, child: DomainName, outcome: Outcome, now: Int64) -> Outcome {
        guard let rollover else { return outcome }
        var outcome = outcome
        do {
            for rdata in rollover.added {
                let key = try KEYData(rdata: rdata)
                try store.putKey(
                    StoredKey(
                        zone: zone, child: child, keyTag: key.keyTag, algorithm: key.algorithm, rdata: rdata, state: .trusted, addedAt: now, origin: "rollover")
                )
            }
            for rdata in rollover.revoked {
                _ = try store.setKeyState(zone: zone, child: child, keyTag: KEYData.keyTag(rdata: rdata), state: .revoked)
            }
            keyLookups.withLockedValue { $0.removeAll() }
            let added = rollover.added.map { String(KEYData.keyTag(rdata: $0)) }, revoked = rollover.revoked.map { String(KEYData.keyTag(rdata: $0)) }
            outcome.reason +=
                (added.isEmpty ? "" : "; key \(added.joined(separator: ", ")) now trusted")
                + (revoked.isEmpty ? "" : "; key \(revoked.joined(separator: ", ")) revoked")
        } catch {
            outcome.rcode = .servFail
            outcome.infoCode = DelegationEDE.other
            outcome.reason = "the change is committed but the trust store failed: \(error); send it again"
        }
        return outcome
    }
}
