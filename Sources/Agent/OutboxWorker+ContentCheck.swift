import DNSWire
import DelegationCore
import Store

extension OutboxWorker {
    /// The content checks again before a deferred apply: the child's servers may have changed
    /// while the entry waited, and an entry stored while the primary was down was never
    /// checked. A refused entry is given up (the child learns of it when it sends again).
    /// Returns whether the entry was refused.
    func refusedByContent(
        _ entry: OutboxEntry, id: Int64, current: DelegationSnapshot, result: DelegationSnapshot, zone: AgentConfiguration.Zone, now: Int64
    ) async
        -> Bool
    {
        guard let violation = await contentProbe.check(current: current, result: result, zone: zone) else { return false }
        giveUp(entry, id: id, reason: ("refused", violation.description), now: now)
        return true
    }
}
