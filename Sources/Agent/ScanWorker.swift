import DNSWire
import DelegationCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import Store

/// Runs the parent-side scans (the NOTIFY scheme of RFC 9859): those a NOTIFY scheduled
/// (``ScanQueue``) as they come due, and, for each zone with `scanner.interval`, every child
/// once per interval, each at its own offset so the scans spread over the interval as a
/// registry's scanner does. A scan reads the delegation from the primary, asks the child's
/// servers (``ChildScanner``), lets ``DelegationScan`` decide, and commits a change through the
/// receiver's ``ChangeCommit`` — the same policy, content checks, outbox, backend and audit as
/// a signed UPDATE. The RFC 8078 observation and the last result go to the store.
///
/// The children of a zone are read by zone transfer (refreshed every interval, at most hourly),
/// together with those the store knows (scanned before, or with a key); when the primary
/// refuses transfers, only the latter are scanned periodically. Between two refreshes a round
/// looks only at the children whose slot passed (``PeriodicScanSchedule``), each against its
/// last scan in the store: a zone of a million children costs a round what its due children
/// cost.
///
/// Audit: a scan that changes, refuses or waits, or that a NOTIFY asked for, gets an entry; a
/// periodic scan that finds nothing to do only when its result differs from the last one.
public final class ScanWorker: Sendable {
    let configuration: AgentConfiguration
    let store: any DelegationStore
    let reader: any ParentZoneReader
    /// The children a zone delegates (a zone transfer in production).
    let delegations: @Sendable (AgentConfiguration.Zone) async throws -> [DomainName]
    let receiver: UpdateReceiver
    let queue: ScanQueue
    let scanner: ChildScanner
    let logger: Logger
    let metrics: AgentMetrics
    /// When the agent started: a child never scanned waits for its first slot after this.
    let startedAt: Int64
    /// Periodic scans started per ``runOnce(now:)`` at most (a long outage must not start all).
    static let periodicPerRound = 16
    /// Children looked up per ``runOnce(now:)`` at most, due or not (after a refresh, every new
    /// child is looked at once: a million of them take many rounds, not one long one).
    static let lookupsPerRound = 2048

    /// Per zone: when its children were last listed, and their schedule.
    private let schedules = NIOLockedValueBox<[DomainName: (at: Int64, schedule: PeriodicScanSchedule)]>([:])

    public init(
        configuration: AgentConfiguration, store: any DelegationStore, reader: any ParentZoneReader,
        delegations: @escaping @Sendable (AgentConfiguration.Zone) async throws -> [DomainName], receiver: UpdateReceiver, queue: ScanQueue,
        scanner: ChildScanner, logger: Logger, metrics: AgentMetrics, startedAt: Int64
    ) {
        self.configuration = configuration
        self.store = store
        self.reader = reader
        self.delegations = delegations
        self.receiver = receiver
        self.queue = queue
        self.scanner = scanner
        self.logger = logger
        self.metrics = metrics
        self.startedAt = startedAt
    }

    /// Runs the NOTIFY-scheduled scans that are due, then the periodic ones that are due.
    /// Returns how many scans ran.
    @discardableResult
    public func runOnce(now: Int64) async -> Int {
        var ran = 0
        for scheduled in queue.takeDue(now: now) {
            guard let zone = configuration.zone(named: scheduled.entry.zone), zone.scanner.enabled else { continue }
            _ = await scan(zone: zone, child: scheduled.entry.child, trigger: scheduled.trigger, now: now)
            ran += 1
        }
        var (periodic, lookups) = (0, 0)
        for zone in configuration.zones where zone.scanner.enabled && zone.scanner.interval > 0 {
            await refreshSchedule(of: zone, now: now)
            while periodic < Self.periodicPerRound, lookups < Self.lookupsPerRound,
                let child = schedules.withLockedValue({ $0[zone.name]?.schedule.next() })
            {
                lookups += 1
                // The store has the last scan by any agent on it.
                let lastScan = (try? store.scanState(zone: zone.name, child: child))?.lastScanAt ?? startedAt
                guard PeriodicScanSchedule.isDue(child, lastScan: lastScan, interval: zone.scanner.interval, now: now) else { continue }
                _ = await scan(zone: zone, child: child, trigger: "periodic", now: now)
                periodic += 1
            }
        }
        return ran + periodic
    }

    /// Brings the zone's schedule up to `now`; first (and every interval, at most hourly) with
    /// the zone's children: the transferred list and the children the store knows (scanned
    /// before, or with a key), read as a stream.
    func refreshSchedule(of zone: AgentConfiguration.Zone, now: Int64) async {
        let interval = zone.scanner.interval
        let current = schedules.withLockedValue { $0[zone.name] }
        if let current, now - current.at < min(interval, 3600) {
            schedules.withLockedValue { $0[zone.name]?.schedule.advance(now: now) }
            return
        }
        var children = PeriodicScanSchedule.Children()
        do {
            for child in try await delegations(zone) { children.insert(child) }
        } catch {
            logger.warning(
                "cannot list the children of the zone; scanning only those the store knows",
                metadata: ["delegsync.zone": "\(zone.name)", "delegsync.error": "\(error)"])
            current?.schedule.gather(into: &children)
        }
        do {
            try store.eachScanState(zone: zone.name) { children.insert($0.child) }
            try store.eachKey(KeyFilter(zone: zone.name)) { children.insert($0.child) }
        } catch {
            logger.warning("cannot read the children the store knows", metadata: ["delegsync.zone": "\(zone.name)", "delegsync.error": "\(error)"])
        }
        schedules.withLockedValue { schedules in
            var schedule = schedules[zone.name]?.schedule ?? PeriodicScanSchedule(interval: interval, now: startedAt)
            schedule.update(children)
            schedule.advance(now: now)
            schedules[zone.name] = (now, schedule)
        }
    }

    /// What one scan did, for the caller and the tests.
    public struct Report: Sendable {
        /// The judgement; nil when the parent's data could not be read or the child is not delegated.
        public let outcome: ScanOutcome?
        /// The commit's outcome when the scan found a change.
        public let commit: UpdateReceiver.Outcome?
        /// What happened, in words (the audit's reason).
        public let text: String
    }

    /// Scans one child now and acts on the result.
    public func scan(zone: AgentConfiguration.Zone, child: DomainName, trigger: String, now: Int64) async -> Report {
        let kind = trigger == "periodic" ? "periodic" : "notify"
        let current: DelegationSnapshot?
        do {
            current = try await reader.delegation(in: zone, child: child)
        } catch {
            let text = "not scanned: the parent's data cannot be read: \(error)"
            metrics.scan(trigger: kind, result: "failed", rule: nil)
            record(zone: zone, child: child, trigger: trigger, decision: "SERVFAIL", text: text, operations: [], now: now)
            return Report(outcome: nil, commit: nil, text: text)
        }
        guard let current else {
            let text = "not scanned: \(child) is not delegated from \(zone.name)"
            metrics.scan(trigger: kind, result: "failed", rule: nil)
            if kind == "notify" { record(zone: zone, child: child, trigger: trigger, decision: "NXDOMAIN", text: text, operations: [], now: now) }
            return Report(outcome: nil, commit: nil, text: text)
        }
        let scan = DelegationScan(zone: zone.name, current: current, policy: zone.scanner.policy(zone: zone))
        let (observations, signaling) = await scanner.observe(scan, resolver: zone.resolver)
        let previous = try? store.scanState(zone: zone.name, child: child)
        let outcome = scan.judge(observations, signaling: signaling, bootstrap: previous?.bootstrap, now: now)
        var text = outcome.description
        var commit: UpdateReceiver.Outcome? = nil
        var decision = outcome.violation == nil ? "NOERROR" : "REFUSED"
        if !outcome.operations.isEmpty {
            let committed = await receiver.commitScanned(zone: zone, child: child, operations: outcome.operations, now: now)
            commit = committed
            decision = committed.rcode.description
            text += "; commit: \(committed.rcode) \(committed.reason)"
        }
        let result =
            !outcome.operations.isEmpty
            ? (commit?.rcode == .noError ? "change" : "refused")
            : outcome.violation != nil ? "refused" : (outcome.ds.isWaiting ? "waiting" : "unchanged")
        metrics.scan(trigger: kind, result: result, rule: commit?.rule ?? outcome.violation?.rule)
        do {
            try store.putScanState(ScanState(zone: zone.name, child: child, lastScanAt: now, lastResult: text, bootstrap: outcome.bootstrap))
        } catch {
            logger.error("cannot store the scan state", metadata: ["delegsync.child": "\(child)", "delegsync.error": "\(error)"])
        }
        if kind == "notify" || result != "unchanged" || previous?.lastResult != text {
            record(
                zone: zone, child: child, trigger: trigger, decision: decision, text: text, operations: outcome.operations, backend: commit?.backendResult,
                now: now)
        }
        return Report(outcome: outcome, commit: commit, text: text)
    }

    /// The audit entry (RFC 10026: time, trigger, what was consulted and decided) and the log line.
    func record(
        zone: AgentConfiguration.Zone, child: DomainName, trigger: String, decision: String, text: String, operations: [Update.Operation],
        backend: String? = nil,
        now: Int64
    ) {
        logger.info("scan", metadata: ["delegsync.child": "\(child)", "delegsync.trigger": "\(trigger)", "delegsync.result": "\(text)"])
        do {
            try store.appendAudit(
                AuditEntry(
                    time: now, source: trigger, transport: "scan", zone: zone.name.description, signer: child.description, keyTag: nil,
                    request: operations.map(\.description).joined(separator: "\n"), decision: decision, reason: text, backendResult: backend))
        } catch {
            logger.error("cannot write the audit log", metadata: ["delegsync.error": "\(error)"])
        }
    }
}

extension ScanOutcome.Part {
    var isWaiting: Bool {
        if case .waiting = self { return true }
        return false
    }
}
