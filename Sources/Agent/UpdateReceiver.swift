import Backends
import DNSWire
import DelegationCore
import Logging
import SIG0
import Store
import Transport

/// The parent side's decision pipeline, cheapest checks first and crypto last (DESIGN.md;
/// CVE-2024-1975). A received message goes through small stages, each with one entry point
/// that hands on the next stage's input or the final outcome:
///
/// 1. ``RequestScreen`` — structure only: opcode, zone (RFC 2136 §3.1.1), one SIG(0) last
///    (RFC 2931 §3.1), signer a child of the zone; routes inquiries, uploads and updates;
/// 2. ``KeyStateInquiry`` — a KeyState inquiry; the state only to the key's own signature;
/// 3. ``UploadIntake`` — a self-signed key upload (strangers' budgets, then crypto, then a job
///    for exactly that key);
/// 4. ``SignerAuthentication`` — a trusted key of the child by identity, its signature, replay
///    and budget, durably;
/// 5. ``ChangeCommit`` — policy, prerequisites, rollover, the content checks against the child's
///    own servers (``ContentCheck``), commit through the backend.
///
/// NOERROR to a change means committed at the primary and seen there again. Every decision goes
/// to the audit log.
public final class UpdateReceiver: Sendable {
    let configuration: AgentConfiguration
    let store: any DelegationStore
    let clock: @Sendable () -> Int64
    let logger: Logger
    let locks = ChildLocks()
    /// Signs replies when the configuration names the receiver's own key.
    let identity: SIG0Signer?
    /// Counters for the Prometheus endpoint.
    let metrics: AgentMetrics
    /// Where refusals of unauthenticated requests are counted; nil writes one row each.
    let audits: AuditAggregator?
    /// The store's status secret, to answer `delegsync status` (``StatusProbe``); nil refuses.
    let statusSecret: [UInt8]?
    /// Where replay state and audit rows go: requests that arrive together share a transaction.
    let commits: GroupCommit

    let screen: RequestScreen
    let inquiries: KeyStateInquiry
    let uploads: UploadIntake
    let authentication: SignerAuthentication
    let changes: ChangeCommit
    let notifies: NotifyIntake

    public init(
        configuration: AgentConfiguration, store: any DelegationStore, backends: [DomainName: any DelegationBackend], reader: any ParentZoneReader,
        contentProbe: ChildContentProbe, clock: @escaping @Sendable () -> Int64, logger: Logger, identity: SIG0Signer? = nil,
        metrics: AgentMetrics = AgentMetrics(), audits: AuditAggregator? = nil, events: AgentEvents? = nil, statusSecret: [UInt8]? = nil,
        scans: ScanQueue = ScanQueue()
    ) {
        self.notifies = NotifyIntake(configuration: configuration, queue: scans)
        self.audits = audits
        self.statusSecret = statusSecret
        self.metrics = metrics
        self.identity = identity
        self.configuration = configuration
        self.store = store
        self.clock = clock
        self.logger = logger
        let signatures = SignatureCheck(
            verifier: SIG0Verifier(allowedSkew: configuration.signature.allowedSkew, maximumValidity: configuration.signature.maximumValidity),
            metrics: metrics, perSourcePerSecond: configuration.limits.verificationsPerSourcePerSecond,
            maximumInFlight: configuration.limits.maxVerificationsInFlight)
        let limits = configuration.limits
        let commits = GroupCommit(store: store)
        self.commits = commits
        let authentication = SignerAuthentication(configuration: configuration, store: store, signatures: signatures, commits: commits)
        self.authentication = authentication
        self.screen = RequestScreen(configuration: configuration)
        self.inquiries = KeyStateInquiry(
            configuration: configuration, store: store, signatures: signatures,
            strangers: StrangerBudget(.init(perSource: limits.inquiriesPerSourcePerHour, perPrefix: limits.inquiriesPerSourcePerHour * 3, total: limits.inquiriesPerHour)))
        self.uploads = UploadIntake(
            configuration: configuration, store: store, reader: reader, signatures: signatures,
            strangers: StrangerBudget(.init(perSource: limits.uploadsPerSourcePerHour, perPrefix: limits.uploadsPerPrefixPerHour, total: limits.uploadsPerHour)),
            trustChanged: { authentication.forget() })
        self.changes = ChangeCommit(
            configuration: configuration, store: store, backends: backends, reader: reader, contentProbe: contentProbe, metrics: metrics, events: events,
            trustChanged: { authentication.forget() })
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
            var outcome = Outcome.reject(.formErr, DelegationEDE.invalidData, "malformed message: \(error)")
            // A NOTIFY that does not parse gets no reply (RFC 9859 §4.3).
            outcome.discarded = Opcode((bytes[2] >> 3) & 0x0F) == .notify
            return Decision(message: nil, outcome: outcome)
        }
        var outcome = await decide(bytes, layout: layout, message: message, context: context, now: now)
        if outcome.rcode.isExtended && message.edns == nil {
            outcome.reason += " (sent as REFUSED: the request had no OPT record)"
        } else if outcome.rcode.isExtended && forwarded(outcome, context: context) {
            outcome.reason +=
                " (sent as REFUSED: it came through \(context.sourceAddress), and a forwarding BIND replaces \(outcome.rcode) with a SERVFAIL of its own)"
        }
        return Decision(message: message, outcome: outcome)
    }

    /// The stages, in order.
    func decide(_ bytes: [UInt8], layout: MessageLayout, message: Message, context: DNSRequestContext, now: Int64) async -> Outcome {
        // A signed UPDATE or upload over UDP may come from a spoofed source: no signature is
        // checked for it; TC=1 sends the child to TCP (limits.udp-updates).
        if context.transport == .udp, message.opcode == .update, configuration.limits.udpUpdates == .truncate {
            var outcome = Outcome(rcode: .noError, reason: "UPDATE over UDP: answered with TC=1, send it over TCP")
            outcome.truncated = true
            return outcome
        }
        let route: RequestScreen.Route
        switch screen.screen(bytes, layout: layout, message: message, context: context) {
        case .done(let outcome): return outcome
        case .next(let next): route = next
        }
        switch route {
        case .status(let name):
            return statusAnswer(name)
        case .notify:
            return notifies.take(message, context: context, now: now)
        case .inquiry(let inquiry):
            return inquiries.answer(bytes, layout: layout, message: message, inquiry: inquiry, context: context, now: now)
        case .upload(let upload, let key, let requested):
            return await uploads.take(upload, key: key, requested: requested, now: now)
        case .update(let request):
            switch await authentication.authenticate(request, now: now) {
            case .done(let outcome):
                return outcome
            case .next(let signer):
                // One change at a time per child, across every agent on the store.
                do {
                    return try await locks.withLock(zone: request.zone.name, child: request.child, store: store) {
                        await self.changes.commit(request, signer: signer, now: now)
                    }
                } catch {
                    var outcome = request.base
                    outcome.authenticated = true
                    return outcome.refused(.servFail, DelegationEDE.other, "\(error)")
                }
            }
        }
    }

    /// The answer to a `delegsync status` question: proof that this agent serves the store.
    func statusAnswer(_ name: DomainName) -> Outcome {
        var outcome: Outcome
        if let statusSecret {
            outcome = Outcome(rcode: .noError, reason: "status question answered")
            outcome.answer = [StatusProbe.answer(name: name, version: AgentVersion.current, secret: statusSecret)]
        } else {
            outcome = .reject(.refused, DelegationEDE.notSupported, "status questions are not answered here")
        }
        outcome.audited = false
        return outcome
    }

    /// Commits the change a CDS/CSYNC scan found for `child` under the child's lock — across
    /// every agent on the store, as for a signed UPDATE — through the same stage as a signed
    /// UPDATE (``ChangeCommit``): policy, content checks, outbox, backend.
    public func commitScanned(zone: AgentConfiguration.Zone, child: DomainName, operations: [Update.Operation], now: Int64) async -> Outcome {
        var outcome = Outcome(rcode: .refused, reason: "", zone: zone.name)
        outcome.signer = child
        let base = outcome
        do {
            return try await locks.withLock(zone: zone.name, child: child, store: store) {
                await self.changes.commit(Update(zone: zone.name, operations: operations), zone: zone, child: child, signer: nil, outcome: base, now: now)
            }
        } catch {
            return base.refused(.servFail, DelegationEDE.other, "\(error)")
        }
    }

    /// Handles one request as received: decides, audits, answers. Returns the reply, or `nil`
    /// when none is due. The reply waits until the decision's audit row is durable (it shares a
    /// transaction with other requests' rows, ``GroupCommit``); a decision that could not be
    /// written is not sent: SERVFAIL says so instead.
    public func handle(_ bytes: [UInt8], context: DNSRequestContext) async -> [UInt8]? {
        let now = clock()
        guard let decision = await decide(bytes, context: context, now: now) else { return nil }
        var outcome = decision.outcome
        guard let message = decision.message else {
            outcome = await recorded(outcome, now: now, context: context, request: "")
            metrics.request(rcode: outcome.rcode, infoCode: outcome.infoCode, rule: outcome.rule)
            if outcome.discarded { return nil }
            guard let unparsed = ResponseBuilder.reply(toUnparsed: bytes, rcode: outcome.rcode) else { return nil }
            let reply = signed(unparsed, request: bytes, now: now)
            return context.transport == .udp ? ResponseBuilder.bounded(reply, toUDPRequest: bytes) : reply
        }
        if outcome.audited {
            let requestText = (message.opcode == .notify ? message.question.map(\.description) : message.updates.map(\.description)).joined(separator: "\n")
            outcome = await recorded(outcome, now: now, context: context, request: requestText)
            metrics.request(rcode: outcome.rcode, infoCode: outcome.infoCode, rule: outcome.rule)
        }
        if outcome.discarded { return nil }
        logger.log(
            level: outcome.audited ? .info : .debug,
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
        if outcome.truncated {
            return ResponseBuilder.headerOnly(id: message.id, opcode: message.opcode, rcode: .noError, truncated: true)
        }
        let reply = signed(
            ResponseBuilder.reply(
                to: message, rcode: outcome.rcode, error: error, keyState: keyState, extendedAsRefused: forwarded(outcome, context: context),
                answer: outcome.answer),
            request: bytes, now: now)
        // Over UDP nothing was authenticated (updates get TC=1): never more than was sent.
        return context.transport == .udp ? ResponseBuilder.bounded(reply, toUDPRequest: bytes) : reply
    }

    /// Whether the request came from one of its zone's `forwarders`. A forwarding nameserver
    /// hands the child only some RCODEs as they are (LAB.md: BIND passes NOERROR, REFUSED and the
    /// prerequisite RCODEs byte for byte, and sends a SERVFAIL of its own for the rest, extended
    /// RCODEs included), so BADKEY, BADSIG and BADTIME go to it as REFUSED with their EDE.
    func forwarded(_ outcome: Outcome, context: DNSRequestContext) -> Bool {
        outcome.zone.flatMap { configuration.zone(named: $0) }?.isForwarder(context.sourceAddress) ?? false
    }

    /// Mutual authentication: every reply, FORMERR to bytes that do not parse included, is signed
    /// over the request as received and the reply (RFC 2535 §4.1.8.1) when the receiver has its
    /// own key, so the child can tell the parent's answer from a forged one.
    func signed(_ reply: [UInt8], request: [UInt8], now: Int64) -> [UInt8] {
        guard let identity,
            let signed = try? identity.sign(
                reply, inception: UInt32(truncatingIfNeeded: now) &- SIG0Signer.defaultFudge,
                expiration: UInt32(truncatingIfNeeded: now) &+ SIG0Signer.defaultFudge, request: request)
        else { return reply }
        return signed
    }

    /// `outcome` once its audit row is durable; or, when the row could not be written, a
    /// SERVFAIL in its place (nothing is acknowledged that the audit log does not hold).
    func recorded(_ outcome: Outcome, now: Int64, context: DNSRequestContext, request: String) async -> Outcome {
        guard await audit(now: now, context: context, request: request, outcome: outcome) else {
            return outcome.refused(
                .servFail, DelegationEDE.other,
                "the decision (\(outcome.rcode): \(outcome.reason)) could not be written to the audit log; send the request again")
        }
        return outcome
    }

    /// Writes the audit row of a decision (or counts an unauthenticated refusal,
    /// ``AuditAggregator``); false when the store failed.
    func audit(now: Int64, context: DNSRequestContext, request: String, outcome: Outcome) async -> Bool {
        let entry = AuditEntry(
            time: now, source: context.source, transport: context.transport.rawValue, zone: outcome.zone?.description,
            signer: outcome.signer?.description, keyTag: outcome.keyTag, request: request, decision: outcome.rcode.description,
            reason: outcome.reason, backendResult: outcome.backendResult)
        guard let audits, !outcome.authenticated else { return await write(entry) != nil }
        guard
            case .write(let first, let kind) = audits.add(
                entry, address: context.sourceAddress, rule: outcome.rule ?? outcome.infoCode.map(String.init), now: now)
        else { return true }
        guard let id = await write(first) else { return false }
        audits.recorded(kind, id: id)
        return true
    }

    /// Writes one audit entry through the group commit; a failure is logged.
    func write(_ entry: AuditEntry) async -> Int64? {
        do {
            return try await commits.appendAudit(entry)
        } catch {
            logger.error("cannot write the audit log", metadata: ["delegsync.error": "\(error)"])
            return nil
        }
    }

    /// Writes the counts of aggregated refusals of minutes that are over (of all minutes with
    /// `now` nil, at shutdown).
    public func flushAudit(now: Int64?) {
        guard let audits else { return }
        for (id, count) in audits.drain(now: now) {
            do {
                try store.setAuditCount(id: id, count: count)
            } catch {
                logger.error("cannot write the audit log", metadata: ["delegsync.error": "\(error)"])
            }
        }
    }
}
