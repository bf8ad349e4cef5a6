import DNSWire
import DelegationCore
import NIOConcurrencyHelpers
import Prometheus
import Store

/// What the agent counts for the opt-in Prometheus endpoint (`metrics:` in the configuration), in
/// one swift-prometheus registry per agent: requests by outcome and reason, SIG(0)
/// verifications and their duration, backend failures, queued changes given up; bootstrap jobs
/// by state and the outbox depth are read from the store at each scrape (no job is read or
/// decoded for it).
/// Label values come from closed sets (RCODE names, EDE codes, rule names, configured zones),
/// never from request data, so a hostile child cannot blow up the number of series.
public final class AgentMetrics: Sendable {
    /// Every metric family the agent exports, with its type: the dashboards and alert rules in
    /// contrib/ may use these names and no others.
    public static let families: [(name: String, type: String, help: String)] = [
        ("delegsync_requests_total", "counter", "Requests answered, by RCODE, Extended DNS Error code and the rule that decided."),
        ("delegsync_sig0_verifications_total", "counter", "SIG(0) verifications against a stored or uploaded key, by result."),
        ("delegsync_sig0_verification_seconds", "histogram", "Time for one SIG(0) check (time window and signature)."),
        ("delegsync_backend_failures_total", "counter", "Changes the parent's nameserver did not take (they stay in the outbox)."),
        ("delegsync_outbox_given_up_total", "counter", "Queued changes given up, by reason (cancelled, deadline, permanent, refused)."),
        ("delegsync_events_dropped_total", "counter", "Operator events dropped because the delivery queue was full (the oldest goes)."),
        ("delegsync_event_deliveries_total", "counter", "Operator event deliveries, by target (command, webhook) and result (ok, failed)."),
        ("delegsync_bootstrap_jobs", "gauge", "Key bootstrap jobs in the store, by state."),
        ("delegsync_outbox_depth", "gauge", "Accepted changes waiting to be applied at the parent."),
        ("delegsync_scans_total", "counter", "Child scans (CDS, CDNSKEY, CSYNC), by trigger, result and the rule that refused."),
    ]

    /// Upper bounds (seconds) of the verification-time histogram.
    static let buckets: [Double] = [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05]
    static let givenUpReasons = ["cancelled", "deadline", "permanent", "refused"]
    static let bootstrapStates = ["verifying", "awaiting-confirmation", "trusted", "failed", "rejected", "superseded"]

    let registry = PrometheusCollectorRegistry()
    /// The series every request touches, made once: the registry checks names and labels and
    /// takes its lock on each lookup, which the receive path should not pay per request.
    let verified: Counter
    let rejected: Counter
    let verificationSeconds: ValueHistogram
    /// `delegsync_requests_total` by its labels (closed sets: at most a few hundred series).
    private let requests = NIOLockedValueBox<[RequestLabels: Counter]>([:])

    private struct RequestLabels: Hashable {
        let rcode: RCode
        let infoCode: UInt16?
        let rule: String?
    }

    public init() {
        // The closed label sets are there from the start, at 0, so that rate() and absent() work.
        verified = registry.makeCounter(descriptor: Self.descriptor("delegsync_sig0_verifications_total"), labels: [("result", "verified")])
        rejected = registry.makeCounter(descriptor: Self.descriptor("delegsync_sig0_verifications_total"), labels: [("result", "rejected")])
        verificationSeconds = registry.makeValueHistogram(descriptor: Self.descriptor("delegsync_sig0_verification_seconds"), buckets: Self.buckets)
        for reason in Self.givenUpReasons { _ = givenUpCounter(reason) }
        for state in Self.bootstrapStates { _ = bootstrapGauge(state) }
        _ = registry.makeCounter(descriptor: Self.descriptor("delegsync_events_dropped_total"))
        for target in ["command", "webhook"] {
            for ok in [true, false] { _ = eventDeliveries(target: target, ok: ok) }
        }
        _ = registry.makeGauge(descriptor: Self.descriptor("delegsync_outbox_depth"))
    }

    /// A family of ``families`` by its full name, with its help text.
    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: families.first { $0.name == name }!.help)
    }

    func request(rcode: RCode, infoCode: UInt16?, rule: String?) {
        let labels = RequestLabels(rcode: rcode, infoCode: infoCode, rule: rule)
        let counter =
            requests.withLockedValue { $0[labels] }
            ?? {
                let counter = registry.makeCounter(
                    descriptor: Self.descriptor("delegsync_requests_total"),
                    labels: [("rcode", rcode.description), ("ede", infoCode.map(String.init) ?? ""), ("rule", rule ?? "")])
                requests.withLockedValue { $0[labels] = counter }
                return counter
            }()
        counter.increment()
    }

    func verification(ok: Bool, seconds: Double) {
        (ok ? verified : rejected).increment()
        verificationSeconds.record(seconds)
    }

    func backendFailure(zone: DomainName) {
        registry.makeCounter(descriptor: Self.descriptor("delegsync_backend_failures_total"), labels: [("zone", zone.description)])
            .increment()
    }

    func givenUpCounter(_ reason: String) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor("delegsync_outbox_given_up_total"), labels: [("reason", reason)])
    }

    func bootstrapGauge(_ state: String) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor("delegsync_bootstrap_jobs"), labels: [("state", state)])
    }

    /// Queued changes this agent gave up: `cancelled` (the signing key was revoked), `deadline`,
    /// `permanent` (the primary refuses the content), `refused` (the policy, on the data as it is now).
    func givenUp(_ reason: String, count: Int = 1) {
        guard count > 0 else { return }
        givenUpCounter(reason).increment(by: Int64(count))
    }

    func cancelled(_ count: Int) { givenUp("cancelled", count: count) }

    /// An operator event dropped because the queue was full.
    func eventDropped() {
        registry.makeCounter(descriptor: Self.descriptor("delegsync_events_dropped_total")).increment()
    }

    func eventDeliveries(target: String, ok: Bool) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor("delegsync_event_deliveries_total"), labels: [("target", target), ("result", ok ? "ok" : "failed")])
    }

    /// One delivery of an operator event to `target` (command, webhook).
    func eventDelivery(target: String, ok: Bool) { eventDeliveries(target: target, ok: ok).increment() }

    /// One scan: `trigger` notify or periodic; `result` change, unchanged, refused, waiting or
    /// failed (the parent could not be read); `rule` the refusing rule's name (a closed set).
    func scan(trigger: String, result: String, rule: String?) {
        registry.makeCounter(descriptor: Self.descriptor("delegsync_scans_total"), labels: [("trigger", trigger), ("result", result), ("rule", rule ?? "")]).increment()
    }

    /// The Prometheus text exposition format (version 0.0.4), with the store's gauges read now.
    public func exposition(store: any DelegationStore) -> String {
        let counts = (try? store.bootstrapCounts()) ?? [:]
        for state in Set(Self.bootstrapStates).union(counts.keys) { bootstrapGauge(state).set(Double(counts[state] ?? 0)) }
        registry.makeGauge(descriptor: Self.descriptor("delegsync_outbox_depth")).set(Double((try? store.pendingCount()) ?? 0))
        return registry.emitToString()
    }
}
