/// One write of the receive path, for ``DelegationStore/commit(_:)``: the writes of requests
/// that arrive together share one transaction (group commit), and none of their replies is sent
/// before it is durable.
public enum StoreWrite: Sendable, Hashable {
    /// Replay state and budget of an authenticated request (``DelegationStore/admit(_:now:)``).
    case admit(Admission, now: Int64)
    /// One decision for the audit log (``DelegationStore/appendAudit(_:)``).
    case appendAudit(AuditEntry)
}

/// What one ``StoreWrite`` did.
public enum StoreWriteResult: Sendable, Equatable {
    /// The verdict of an ``StoreWrite/admit(_:now:)``.
    case verdict(Admission.Verdict)
    /// The id of the entry an ``StoreWrite/appendAudit(_:)`` wrote.
    case audit(id: Int64)
}

extension DelegationStore {
    /// One write at a time through the store's own methods, in order: each is durable when the
    /// next starts, so a later write sees the earlier ones, but a failure leaves the earlier
    /// writes of the batch in place (the caller acknowledges none of them all the same: an
    /// admitted signature that is sent again is then refused as a replay).
    public func commit(_ writes: [StoreWrite]) throws -> [StoreWriteResult] {
        try writes.map { write in
            switch write {
            case .admit(let admission, let now): .verdict(try admit(admission, now: now))
            case .appendAudit(let entry): .audit(id: try appendAudit(entry))
            }
        }
    }
}
