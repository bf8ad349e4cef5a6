import DNSWire
import DelegationCore
import NIOConcurrencyHelpers
import Store

/// What the agent counts for the opt-in Prometheus endpoint (`metrics:` in the configuration):
/// requests by outcome and reason, SIG(0) verifications and their duration, backend failures;
/// bootstrap jobs by state and the outbox depth are counted by the store at each scrape (no
/// job is read or decoded for it).
/// Label values come from closed sets (RCODE names, EDE codes, rule names), never from request
/// data, so a hostile child cannot blow up the number of series.
public final class AgentMetrics: Sendable {
    struct RequestKey: Hashable {
        let rcode: String
        let ede: String
        let rule: String
    }

    /// Upper bounds (seconds) of the verification-time histogram.
    static let buckets: [Double] = [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05]

    struct State {
        var requests: [RequestKey: UInt64] = [:]
        var verifications: [String: UInt64] = [:]
        var verifyBuckets = [UInt64](repeating: 0, count: AgentMetrics.buckets.count)
        var verifyCount: UInt64 = 0
        var verifySum: Double = 0
        var backendFailures: [String: UInt64] = [:]
        var givenUp: [String: UInt64] = [:]
        var eventsDropped: UInt64 = 0
        /// By "target result" ("command ok", "webhook failed").
        var eventDeliveries: [String: UInt64] = [:]
    }

    let state = NIOLockedValueBox(State())

    public init() {}

    func request(rcode: RCode, infoCode: UInt16?, rule: String?) {
        let key = RequestKey(rcode: rcode.description, ede: infoCode.map(String.init) ?? "", rule: rule ?? "")
        state.withLockedValue { $0.requests[key, default: 0] += 1 }
    }

    func verification(ok: Bool, seconds: Double) {
        state.withLockedValue { state in
            state.verifications[ok ? "verified" : "rejected", default: 0] += 1
            state.verifyCount += 1
            state.verifySum += seconds
            if let index = Self.buckets.firstIndex(where: { seconds <= $0 }) { state.verifyBuckets[index] += 1 }
        }
    }

    func backendFailure(zone: DomainName) {
        state.withLockedValue { $0.backendFailures[zone.description, default: 0] += 1 }
    }

    /// Queued changes this agent gave up: `cancelled` (the signing key was revoked), `deadline`,
    /// `permanent` (the primary refuses the content), `refused` (the policy, on the data as it is now).
    func givenUp(_ reason: String, count: Int = 1) {
        guard count > 0 else { return }
        state.withLockedValue { $0.givenUp[reason, default: 0] += UInt64(count) }
    }

    func cancelled(_ count: Int) { givenUp("cancelled", count: count) }

    /// An operator event dropped because the queue was full.
    func eventDropped() { state.withLockedValue { $0.eventsDropped += 1 } }

    /// One delivery of an operator event to `target` (command, webhook).
    func eventDelivery(target: String, ok: Bool) {
        state.withLockedValue { $0.eventDeliveries["\(target) \(ok ? "ok" : "failed")", default: 0] += 1 }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    public func exposition(store: any DelegationStore) -> String {
        let state = self.state.withLockedValue { $0 }
        var out: [String] = []
        func family(_ name: String, _ type: String, _ help: String) {
            out.append("# HELP \(name) \(help)")
            out.append("# TYPE \(name) \(type)")
        }
        family("delegsync_requests_total", "counter", "Requests answered, by RCODE, Extended DNS Error code and the rule that decided.")
        for (key, count) in state.requests.sorted(by: { ($0.key.rcode, $0.key.ede, $0.key.rule) < ($1.key.rcode, $1.key.ede, $1.key.rule) }) {
            out.append("delegsync_requests_total{rcode=\"\(key.rcode)\",ede=\"\(key.ede)\",rule=\"\(key.rule)\"} \(count)")
        }
        family("delegsync_sig0_verifications_total", "counter", "SIG(0) verifications against a stored or uploaded key, by result.")
        for result in ["verified", "rejected"] {
            out.append("delegsync_sig0_verifications_total{result=\"\(result)\"} \(state.verifications[result] ?? 0)")
        }
        family("delegsync_sig0_verification_seconds", "histogram", "Time for one SIG(0) check (time window and signature).")
        var cumulative: UInt64 = 0
        for (bound, count) in zip(Self.buckets, state.verifyBuckets) {
            cumulative += count
            out.append("delegsync_sig0_verification_seconds_bucket{le=\"\(bound)\"} \(cumulative)")
        }
        out.append("delegsync_sig0_verification_seconds_bucket{le=\"+Inf\"} \(state.verifyCount)")
        out.append("delegsync_sig0_verification_seconds_sum \(state.verifySum)")
        out.append("delegsync_sig0_verification_seconds_count \(state.verifyCount)")
        family("delegsync_backend_failures_total", "counter", "Changes the parent's nameserver did not take (they stay in the outbox).")
        for (zone, count) in state.backendFailures.sorted(by: { $0.key < $1.key }) {
            out.append("delegsync_backend_failures_total{zone=\"\(zone)\"} \(count)")
        }
        family("delegsync_outbox_given_up_total", "counter", "Queued changes given up, by reason (cancelled, deadline, permanent, refused).")
        for reason in ["cancelled", "deadline", "permanent", "refused"] {
            out.append("delegsync_outbox_given_up_total{reason=\"\(reason)\"} \(state.givenUp[reason] ?? 0)")
        }
        family("delegsync_events_dropped_total", "counter", "Operator events dropped because the delivery queue was full (the oldest goes).")
        out.append("delegsync_events_dropped_total \(state.eventsDropped)")
        family("delegsync_event_deliveries_total", "counter", "Operator event deliveries, by target (command, webhook) and result (ok, failed).")
        for target in ["command", "webhook"] {
            for result in ["ok", "failed"] {
                out.append("delegsync_event_deliveries_total{target=\"\(target)\",result=\"\(result)\"} \(state.eventDeliveries["\(target) \(result)"] ?? 0)")
            }
        }
        family("delegsync_bootstrap_jobs", "gauge", "Key bootstrap jobs in the store, by state.")
        var byState: [String: Int] = ["verifying": 0, "awaiting-confirmation": 0, "trusted": 0, "failed": 0, "rejected": 0, "superseded": 0]
        byState.merge((try? store.bootstrapCounts()) ?? [:]) { _, counted in counted }
        for (name, count) in byState.sorted(by: { $0.key < $1.key }) {
            out.append("delegsync_bootstrap_jobs{state=\"\(name)\"} \(count)")
        }
        family("delegsync_outbox_depth", "gauge", "Accepted changes waiting to be applied at the parent.")
        out.append("delegsync_outbox_depth \((try? store.pendingCount()) ?? 0)")
        return out.joined(separator: "\n") + "\n"
    }
}
