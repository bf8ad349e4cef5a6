import Backends
import DNSWire
import DelegationCore
import Store

/// The last stage: an authenticated change for one child, decided against the parent's data as
/// the primary holds it now (policy, RFC 2136 §3.2 prerequisites, key rollover) and committed
/// through the backend; NOERROR only once the primary serves it (DESIGN.md, "What a reply
/// means"). Runs under the child's lock. The queued change remembers the key that signed it
/// and a deadline, so a revocation cancels it and it cannot wait forever.
struct ChangeCommit: Sendable {
    let configuration: AgentConfiguration
    let store: any DelegationStore
    let backends: [DomainName: any DelegationBackend]
    let reader: any ParentZoneReader
    /// Asks the child's servers for the content checks before a commit.
    let contentProbe: ChildContentProbe
    let metrics: AgentMetrics
    /// Each zone's policy engine, built once.
    let policies: [DomainName: DelegationPolicyEngine]
    /// Told when the trust store changed (the lookup cache).
    let trustChanged: @Sendable () -> Void
    /// Where commits, keys trusted by rollover and backend outcomes are reported.
    let events: AgentEvents?

    init(
        configuration: AgentConfiguration, store: any DelegationStore, backends: [DomainName: any DelegationBackend], reader: any ParentZoneReader,
        contentProbe: ChildContentProbe, metrics: AgentMetrics, events: AgentEvents? = nil, trustChanged: @escaping @Sendable () -> Void
    ) {
        self.events = events
        self.contentProbe = contentProbe
        self.configuration = configuration
        self.store = store
        self.backends = backends
        self.reader = reader
        self.metrics = metrics
        self.trustChanged = trustChanged
        self.policies = Dictionary(configuration.zones.map { ($0.name, OutboxWorker.policy(for: $0)) }, uniquingKeysWith: { first, _ in first })
    }

    func commit(_ request: SignedUpdate, signer: KeyIdentity, now: Int64) async -> UpdateReceiver.Outcome {
        var outcome = request.base
        outcome.authenticated = true
        return await commit(request.update, zone: request.zone, child: request.child, signer: signer, outcome: outcome, now: now)
    }

    /// Decides and commits `update` for `child`: a signed UPDATE's (signed by `signer`), or the
    /// change a CDS/CSYNC scan found (no signer: nothing revokes it but the policy). The same
    /// policy, prerequisites, content checks, outbox and backend either way.
    func commit(_ update: Update, zone: AgentConfiguration.Zone, child: DomainName, signer: KeyIdentity?, outcome base: UpdateReceiver.Outcome, now: Int64) async
        -> UpdateReceiver.Outcome
    {
        var outcome = base
        let deadline = now + configuration.limits.changeDeadline
        let current: DelegationSnapshot?
        do {
            current = try await reader.delegation(in: zone, child: child)
        } catch {
            events?.backendFailed(zone: zone.name, error: "cannot read the delegation from the primary: \(error)", now: now)
            // The request is authenticated: keep it, and let the outbox decide and apply it
            // against the parent's data once the primary answers again. Prerequisites cannot
            // wait (they are about the zone as it is now), so such requests must be resent.
            if update.prerequisites.isEmpty,
                (try? store.enqueue(
                    OutboxEntry(
                        zone: zone.name, child: child, operations: update.operations, createdAt: now, nextAttemptAt: now + OutboxWorker.backoff(attempts: 0),
                        signer: signer, deadline: deadline)))
                    != nil
            {
                return outcome.refused(
                    .servFail, DelegationEDE.noReachableAuthority, "\(error); the change is stored and will be checked and applied when the primary answers")
            }
            return outcome.refused(.servFail, DelegationEDE.noReachableAuthority, "\(error)")
        }
        guard let current else {
            return outcome.refused(.refused, DelegationEDE.prohibited, "\(child) is not delegated from \(zone.name)")
        }
        let delegation = DelegationRequest(zone: zone.name, child: child, prerequisites: update.prerequisites, operations: update.operations, current: current)
        if case .reject(let violation) = (policies[zone.name] ?? OutboxWorker.policy(for: zone)).evaluate(delegation) {
            return outcome.refused(.refused, violation.infoCode, violation.description, rule: violation.rule)
        }
        if let failed = current.evaluate(update.prerequisites) {
            return outcome.refused(failed, DelegationEDE.prohibited, "a prerequisite does not hold (RFC 2136 §3.2): \(failed)")
        }
        // A KEY change (rollover) signed by the trusted key: who is trusted afterwards.
        var rollover: KeyRollover? = nil
        do {
            if KeyRollover.touchesKeys(update.operations, child: child) {
                let trusted = try store.keys(zone: zone.name, child: child).filter { $0.state == .trusted }.map(\.rdata)
                rollover = try KeyRollover(operations: update.operations, child: child, trusted: Set(trusted))
            }
        } catch let violation as PolicyViolation {
            return outcome.refused(.refused, violation.infoCode, violation.description, rule: violation.rule)
        } catch {
            return outcome.refused(.servFail, DelegationEDE.other, "the trust store failed: \(error)")
        }
        let operations = delegation.operations(ttl: zone.ttl)
        // The snapshot tracks data, not TTLs: the policy's result is what the parent will hold.
        guard let expected = delegation.result else {
            return outcome.refused(.formErr, DelegationEDE.invalidData, "an NS record's data is not a domain name")
        }
        guard expected != current else {
            outcome.rcode = .noError
            outcome.reason = "nothing to change: the parent already holds this delegation"
            return roll(rollover, zone: zone.name, child: child, outcome: outcome, now: now)
        }
        // The result against the child's own servers (issue 10, point 7): every NS answers, a new
        // DS matches a served DNSKEY, the last DS goes only with the CDS delete signal.
        if let violation = await contentProbe.check(current: current, result: expected, zone: zone) {
            return outcome.refused(.refused, violation.infoCode, violation.description, rule: violation.rule)
        }
        let entry = OutboxEntry(zone: zone.name, child: child, operations: operations, createdAt: now, nextAttemptAt: now, signer: signer, deadline: deadline)
        let id: Int64
        do {
            id = try store.enqueue(entry)
        } catch {
            return outcome.refused(.servFail, DelegationEDE.other, "cannot store the change: \(error)")
        }
        let result = await OutboxWorker.apply(
            entry, id: id, expected: expected, zone: zone, backend: backends[zone.name], reader: reader, store: store, metrics: metrics, events: events,
            now: now)
        outcome.backendResult = result.text
        guard result.applied else {
            if result.permanent {
                return outcome.refused(.refused, DelegationEDE.prohibited, "the parent's primary refuses this change, not retried: \(result.text)", rule: "backend-refused")
            }
            return outcome.refused(.servFail, DelegationEDE.networkError, "the change is stored and will be retried: \(result.text)")
        }
        outcome.rcode = .noError
        outcome.reason = "applied"
        return roll(rollover, zone: zone.name, child: child, outcome: outcome, now: now)
    }

    /// Applies a committed KEY change to the trust store: added keys trusted (origin
    /// "rollover"), deleted ones revoked (each by its identity; their queued changes are
    /// cancelled). A change deferred to the outbox is not applied here: the child sends it again
    /// after SERVFAIL.
    func roll(_ rollover: KeyRollover?, zone: DomainName, child: DomainName, outcome: UpdateReceiver.Outcome, now: Int64) -> UpdateReceiver.Outcome {
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
            var cancelled = 0
            for rdata in rollover.revoked {
                cancelled += try store.setKeyState(KeyIdentity(zone: zone, child: child, rdata: rdata), state: .revoked).cancelledChanges
            }
            metrics.cancelled(cancelled)
            trustChanged()
            for rdata in rollover.added { events?.emit(.keyTrusted(rollover: rdata, zone: zone, child: child, now: now)) }
            if cancelled > 0 {
                events?.emit(.changesCancelled(zone: zone, child: child, count: cancelled, because: "a rollover revoked it", now: now))
            }
            let added = rollover.added.map { String(KEYData.keyTag(rdata: $0)) }, revoked = rollover.revoked.map { String(KEYData.keyTag(rdata: $0)) }
            outcome.reason +=
                (added.isEmpty ? "" : "; key \(added.joined(separator: ", ")) now trusted")
                + (revoked.isEmpty ? "" : "; key \(revoked.joined(separator: ", ")) revoked")
                + (cancelled == 0 ? "" : "; \(cancelled) queued change(s) it signed cancelled")
        } catch {
            return outcome.refused(.servFail, DelegationEDE.other, "the change is committed but the trust store failed: \(error); send it again")
        }
        return outcome
    }
}
