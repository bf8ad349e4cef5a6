import DNSWire
import DelegationCore
import Transport

/// The stage for opcode NOTIFY (RFC 1996) of the generalized kind (RFC 9859 §4): a child's
/// operator says its CDS/CDNSKEY or CSYNC changed. A hint only — the answer comes at once and
/// the scan decides from what the child's servers serve.
///
/// - One question of class IN, or the message is discarded without a reply (RFC 9859 §4.3).
/// - QTYPE CDS, CDNSKEY or CSYNC (else REFUSED, EDE 21), for a name strictly below a served
///   zone (else NOTAUTH, EDE 20) whose scanner is on (else REFUSED, EDE 21).
/// - Rate limits (RFC 9859 §5 MUST): per source address, source prefix and in total, then per
///   child (REFUSED, EDE 15); a NOTIFY for a child whose scan is already waiting joins it.
/// - NOERROR: a scan is scheduled ``debounce`` seconds ahead, so that NOTIFY(CDS) and
///   NOTIFY(CSYNC) sent together bring one scan.
struct NotifyIntake: Sendable {
    let configuration: AgentConfiguration
    let queue: ScanQueue
    /// Per source address, prefix and in total.
    let sources: StrangerBudget
    /// Per child (keys `c zone child`).
    let children: StrangerBudget

    /// Seconds between a NOTIFY and the scan it schedules.
    static let debounce: Int64 = 5
    /// The QTYPEs of RFC 9859 §4: CDS (covering CDNSKEY too) and CSYNC; CDNSKEY accepted as well.
    static let types: Set<RRType> = [.cds, .cdnskey, .csync]

    init(configuration: AgentConfiguration, queue: ScanQueue) {
        self.configuration = configuration
        self.queue = queue
        let limits = configuration.limits.notifies
        self.sources = StrangerBudget(.init(perSource: limits.perSourcePerHour, perPrefix: limits.perSourcePerHour * 3, total: limits.perHour))
        self.children = StrangerBudget(.init(perSource: limits.perChildPerHour, perPrefix: limits.perChildPerHour, total: limits.perHour))
    }

    func take(_ message: Message, context: DNSRequestContext, now: Int64) -> UpdateReceiver.Outcome {
        guard message.question.count == 1, let question = message.question.first, question.qclass == .in else {
            var outcome = UpdateReceiver.Outcome.reject(
                .formErr, DelegationEDE.invalidData, "NOTIFY with \(message.question.count) questions or not of class IN: discarded (RFC 9859 §4.3)")
            outcome.rule = "notify-malformed"
            outcome.discarded = true
            return outcome
        }
        let child = question.name
        guard Self.types.contains(question.type) else {
            return refused(
                .refused, DelegationEDE.notSupported, "NOTIFY(\(question.type)) is not served here; send NOTIFY(CDS) or NOTIFY(CSYNC) (RFC 9859 §4)",
                "notify-type")
        }
        guard let zone = configuration.zones.filter({ child.isSubdomain(of: $0.name) && child != $0.name }).max(by: { $0.name.labelCount < $1.name.labelCount })
        else {
            return refused(.notAuth, DelegationEDE.notAuthoritative, "\(child) is not a child of a zone this agent serves", "notify-zone")
        }
        var outcome = UpdateReceiver.Outcome(rcode: .refused, reason: "", zone: zone.name)
        outcome.signer = child
        guard zone.scanner.enabled else {
            return outcome.refused(
                .refused, DelegationEDE.notSupported, "\(zone.name) takes no NOTIFY: its scanner is off (zones[].scanner.enabled); send a signed UPDATE",
                rule: "notify-scanner-off")
        }
        if let spent = sources.spend(source: context.sourceAddress, now: now) {
            return outcome.refused(.refused, DelegationEDE.blocked, "NOTIFY rate limit: \(spent) (RFC 9859 §5)", rule: "notify-rate-limited")
        }
        if queue.isScheduled(zone: zone.name, child: child) {
            outcome.rcode = .noError
            outcome.reason = "a scan of \(child) is already scheduled"
            outcome.rule = "notify-joined"
            return outcome
        }
        if let spent = children.spend([("c \(zone.name) \(child)", configuration.limits.notifies.perChildPerHour, "for \(child)")], now: now) {
            return outcome.refused(.refused, DelegationEDE.blocked, "NOTIFY rate limit: \(spent) (RFC 9859 §5)", rule: "notify-rate-limited")
        }
        switch queue.schedule(zone: zone.name, child: child, at: now + Self.debounce, trigger: "NOTIFY(\(question.type)) from \(context.source)") {
        case .full:
            return outcome.refused(.refused, DelegationEDE.blocked, "too many scans are waiting; try again later", rule: "notify-queue-full")
        case .scheduled, .alreadyScheduled:
            outcome.rcode = .noError
            outcome.reason = "scan of \(child) scheduled"
            outcome.rule = "notify-scheduled"
            return outcome
        }
    }

    func refused(_ rcode: RCode, _ infoCode: UInt16, _ reason: String, _ rule: String) -> UpdateReceiver.Outcome {
        var outcome = UpdateReceiver.Outcome.reject(rcode, infoCode, reason)
        outcome.rule = rule
        return outcome
    }
}
