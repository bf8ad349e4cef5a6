import Backends
import DNSWire
import DelegationCore
import Logging
import Store

/// Applies stored changes to the parent zone and retries failed ones with exponential backoff
/// (5 s doubling to one hour). Applying twice changes nothing, so a retry after an unclear
/// failure is safe. A change is given up — audited, counted, never retried — when its signing
/// key is no longer trusted, its deadline (`limits.change-deadline`) has passed, the primary
/// refuses its content (a permanent ``BackendError``), or the policy refuses it against the
/// parent's data as it is now.
public struct OutboxWorker: Sendable {
    let configuration: AgentConfiguration
    let store: any DelegationStore
    let backends: [DomainName: any DelegationBackend]
    let reader: any ParentZoneReader
    let logger: Logger
    let metrics: AgentMetrics
    /// Asks the child's servers for the content checks before a deferred apply.
    let contentProbe: ChildContentProbe
    /// Where committed, given-up changes and backend outcomes are reported for the operator.
    let events: AgentEvents?

    public init(
        configuration: AgentConfiguration, store: any DelegationStore, backends: [DomainName: any DelegationBackend], reader: any ParentZoneReader,
        contentProbe: ChildContentProbe, logger: Logger, metrics: AgentMetrics = AgentMetrics(), events: AgentEvents? = nil
    ) {
        self.events = events
        self.contentProbe = contentProbe
        self.metrics = metrics
        self.configuration = configuration
        self.store = store
        self.backends = backends
        self.reader = reader
        self.logger = logger
    }

    struct Result {
        let applied: Bool
        let text: String
        /// The backend refused the content: the entry is given up.
        var permanent = false
    }

    /// Entries claimed per pass at most.
    static let batch = 100

    static func backoff(attempts: Int) -> Int64 {
        min(3600, 5 << min(attempts, 10))
    }

    /// Applies one entry; with `expected`, also checks that the primary now serves the parts of
    /// it the change touched (NS and glue, DS). The
    /// outcome goes to `events`: the commit, a permanent refusal, the backend failing or working.
    static func apply(
        _ entry: OutboxEntry, id: Int64, expected: DelegationSnapshot?, zone: AgentConfiguration.Zone, backend: (any DelegationBackend)?,
        reader: any ParentZoneReader, store: any DelegationStore, metrics: AgentMetrics, events: AgentEvents?, now: Int64
    ) async -> Result {
        guard let backend else {
            try? store.markAttemptFailed(id: id, error: "no backend for \(zone.name)", nextAttemptAt: now + backoff(attempts: entry.attempts))
            return Result(applied: false, text: "no backend configured for \(zone.name)")
        }
        do {
            try await backend.apply(Update(zone: zone.name, operations: entry.operations))
        } catch let error as BackendError where error.permanent {
            metrics.backendFailure(zone: zone.name)
            metrics.givenUp("permanent")
            try? store.markFailed(id: id, error: "given up: the primary refuses this change: \(error)")
            events?.emit(
                .changeGivenUp(
                    zone: zone.name, child: entry.child, signer: entry.signer, operations: entry.operations,
                    reason: "given up: the primary refuses this change: \(error)", now: now))
            return Result(applied: false, text: "\(error)", permanent: true)
        } catch {
            metrics.backendFailure(zone: zone.name)
            try? store.markAttemptFailed(id: id, error: "\(error)", nextAttemptAt: now + backoff(attempts: entry.attempts))
            events?.backendFailed(zone: zone.name, error: "\(backend.description): \(error)", now: now)
            return Result(applied: false, text: "\(backend.description): \(error)")
        }
        // The check reads only the parts the change touched; KEY not at all (occluded at the cut,
        // see DelegationSnapshot.withoutKeys).
        let parts = DelegationSnapshot.Parts(touchedBy: entry.operations).subtracting(.keys)
        if let expected, !parts.isEmpty {
            let seen = try? await reader.delegation(in: zone, child: entry.child, parts: parts)
            guard let seen, seen.restricted(to: parts) == expected.restricted(to: parts) else {
                try? store.markAttemptFailed(
                    id: id, error: "applied but the primary does not serve it yet", nextAttemptAt: now + backoff(attempts: entry.attempts))
                let text = "\(backend.description) accepted the change, but the primary does not serve it"
                events?.backendFailed(zone: zone.name, error: text, now: now)
                return Result(applied: false, text: text)
            }
        }
        try? store.markApplied(id: id)
        events?.backendWorked(zone: zone.name, now: now)
        events?.emit(
            .changeCommitted(zone: zone.name, child: entry.child, signer: entry.signer, operations: entry.operations, queuedAt: entry.createdAt, now: now))
        return Result(applied: true, text: "\(backend.description): applied")
    }

    /// The policy a zone's changes must pass, at request time and again before a deferred apply.
    static func policy(for zone: AgentConfiguration.Zone) -> DelegationPolicyEngine {
        DelegationPolicyEngine.standard(limits: zone.limits)
    }

    /// Applies every due entry once: re-reads the delegation, checks the policy against it again
    /// (the entry may have waited for the primary), applies, and checks the primary serves it.
    /// Only entries this agent claimed (``DelegationStore/claimDuePending(now:limit:)``), each
    /// under the child's lock across agents; an entry whose child is locked by a commit in
    /// progress waits for the next pass. Returns how many entries were applied.
    @discardableResult
    public func runOnce(now: Int64) async -> Int {
        guard let due = try? store.claimDuePending(now: now, limit: Self.batch) else { return 0 }
        var applied = 0
        for entry in due {
            guard let id = entry.id, let zone = configuration.zone(named: entry.zone) else { continue }
            guard let lock = try? store.tryLockChild(zone: entry.zone, child: entry.child) else {
                try? store.releaseClaim(outboxID: id)
                continue
            }
            if await work(on: entry, id: id, zone: zone, now: now) { applied += 1 }
            lock.release()
        }
        return applied
    }

    /// One claimed entry, under its child's lock; true when it was applied now.
    func work(on entry: OutboxEntry, id: Int64, zone: AgentConfiguration.Zone, now: Int64) async -> Bool {
        if let reason = giveUpReason(entry, now: now) {
            giveUp(entry, id: id, reason: reason, now: now)
            return false
        }
        let current: DelegationSnapshot?
        do {
            current = try await reader.delegation(in: zone, child: entry.child)
        } catch {
            try? store.markAttemptFailed(id: id, error: "\(error)", nextAttemptAt: now + Self.backoff(attempts: entry.attempts))
            events?.backendFailed(zone: zone.name, error: "cannot read the delegation from the primary: \(error)", now: now)
            return false
        }
        let request = current.map { DelegationRequest(zone: zone.name, child: entry.child, operations: entry.operations, current: $0) }
        guard let request, let current else {
            try? store.markFailed(id: id, error: "\(entry.child) is no longer delegated from \(zone.name)")
            events?.emit(
                .changeGivenUp(
                    zone: zone.name, child: entry.child, signer: entry.signer, operations: entry.operations,
                    reason: "given up: \(entry.child) is no longer delegated from \(zone.name)", now: now))
            return false
        }
        if case .reject(let violation) = Self.policy(for: zone).evaluate(request) {
            giveUp(entry, id: id, reason: ("refused", violation.description), now: now)
            return false
        }
        let operations = request.operations(ttl: zone.ttl)
        guard let expected = request.result else {
            try? store.markFailed(id: id, error: "the stored change cannot be applied")
            return false
        }
        if expected == current {
            try? store.markApplied(id: id)
            events?.emit(
                .changeCommitted(
                    zone: zone.name, child: entry.child, signer: entry.signer, operations: entry.operations, queuedAt: entry.createdAt, now: now,
                    note: "the primary already served it"))
            return false
        }
        // Content checks (issue 10, point 7), again before a deferred apply; OutboxWorker+ContentCheck.swift.
        if await refusedByContent(entry, id: id, current: current, result: expected, zone: zone, now: now) { return false }
        var normalized = entry
        normalized.operations = operations
        let result = await Self.apply(
            normalized, id: id, expected: expected, zone: zone, backend: backends[zone.name], reader: reader, store: store, metrics: metrics,
            events: events, now: now)
        logger.info("outbox", metadata: ["delegsync.child": "\(entry.child)", "delegsync.result": "\(result.text)"])
        return result.applied
    }

    /// Why a due entry is not tried again: its signer is no longer trusted (`cancelled`), or its
    /// deadline has passed (`deadline`); nil when it may be tried.
    func giveUpReason(_ entry: OutboxEntry, now: Int64) -> (metric: String, text: String)? {
        if let signer = entry.signer {
            let state = (try? store.key(signer))?.state
            if state != .trusted {
                return ("cancelled", "cancelled: the signing key \(signer.keyText) is \(state?.rawValue ?? "gone")")
            }
        }
        if let deadline = entry.deadline, now > deadline {
            return ("deadline", "given up: not applied by its deadline \(UTCTime.text(deadline))" + (entry.lastError.map { "; last error: \($0)" } ?? ""))
        }
        return nil
    }

    /// Marks the entry failed for good, counts it and writes the audit entry the operator reads.
    func giveUp(_ entry: OutboxEntry, id: Int64, reason: (metric: String, text: String), now: Int64) {
        do {
            try store.markFailed(id: id, error: reason.text)
        } catch {
            logger.error("cannot mark outbox entry \(id) given up", metadata: ["delegsync.child": "\(entry.child)", "delegsync.error": "\(error)"])
        }
        metrics.givenUp(reason.metric)
        logger.warning("outbox entry given up", metadata: ["delegsync.child": "\(entry.child)", "delegsync.reason": "\(reason.text)"])
        events?.emit(.changeGivenUp(zone: entry.zone, child: entry.child, signer: entry.signer, operations: entry.operations, reason: reason.text, now: now))
        do {
            try store.appendAudit(
                AuditEntry(
                    time: now, source: "outbox", transport: "outbox", zone: entry.zone.description, signer: entry.child.description,
                    keyTag: entry.signer?.keyTag, request: entry.operations.map(\.description).joined(separator: "\n"), decision: "GIVEN UP",
                    reason: reason.text))
        } catch {
            logger.error("cannot write the audit log", metadata: ["delegsync.child": "\(entry.child)", "delegsync.error": "\(error)"])
        }
    }
}
