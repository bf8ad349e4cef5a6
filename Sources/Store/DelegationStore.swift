import DNSWire
import DelegationCore

/// How much a key is trusted for its child (DESIGN.md: "signature verified", "key proven at the
/// child" and "key trusted" are separate facts; this is the last one).
public enum KeyTrustState: String, Sendable, Codable, CaseIterable {
    /// Received (e.g. a self-signed upload) but not yet validated; may not authorise changes.
    case known
    /// Trusted: UPDATEs signed by it may change the child's delegation.
    case trusted
    /// Revoked by the operator or replaced by a rollover; never trusted again.
    case revoked
}

/// A child's SIG(0) key in the trust store.
public struct StoredKey: Sendable, Hashable {
    /// The parent zone the child is delegated from.
    public var zone: DomainName
    /// The child (the key's owner name and the SIG(0) signer).
    public var child: DomainName
    public var keyTag: UInt16
    public var algorithm: UInt8
    /// The KEY RDATA exactly as published (the key tag is computed over it).
    public var rdata: [UInt8]
    public var state: KeyTrustState
    /// Unix seconds.
    public var addedAt: Int64
    /// Where the key came from: "import", "bootstrap", "rollover".
    public var origin: String

    public init(zone: DomainName, child: DomainName, keyTag: UInt16, algorithm: UInt8, rdata: [UInt8], state: KeyTrustState, addedAt: Int64, origin: String) {
        self.zone = zone
        self.child = child
        self.keyTag = keyTag
        self.algorithm = algorithm
        self.rdata = rdata
        self.state = state
        self.addedAt = addedAt
        self.origin = origin
    }
}

/// One decision of the agent, for the audit trail (RFC 10026's operational checklist: a
/// structured record of every decision — time, trigger, what was consulted, outcome, reason).
public struct AuditEntry: Sendable, Hashable {
    public var id: Int64?
    /// Unix seconds.
    public var time: Int64
    /// "192.0.2.7:53124"
    public var source: String
    /// "udp" or "tcp"
    public var transport: String
    public var zone: String?
    public var signer: String?
    public var keyTag: UInt16?
    /// The RRs asked for, one per line in presentation format.
    public var request: String
    /// The RCODE sent ("NOERROR", "REFUSED", …).
    public var decision: String
    /// Rule or reason ("ns-empty: …", "applied", "backend failed: …").
    public var reason: String
    /// What the backend said, when it was asked.
    public var backendResult: String?

    public init(
        id: Int64? = nil, time: Int64, source: String, transport: String, zone: String?, signer: String?, keyTag: UInt16?, request: String, decision: String,
        reason: String, backendResult: String? = nil
    ) {
        self.id = id
        self.time = time
        self.source = source
        self.transport = transport
        self.zone = zone
        self.signer = signer
        self.keyTag = keyTag
        self.request = request
        self.decision = decision
        self.reason = reason
        self.backendResult = backendResult
    }
}

/// A change waiting to be applied to the parent zone, kept until the backend confirmed it.
public struct OutboxEntry: Sendable, Hashable {
    public enum State: String, Sendable, Codable { case pending, applied, failed }
    public var id: Int64?
    public var zone: DomainName
    public var child: DomainName
    /// The changes, in order (RFC 2136 §2.5 operations, TTLs already set by the agent).
    public var operations: [Update.Operation]
    public var state: State
    public var attempts: Int
    /// Unix seconds.
    public var createdAt: Int64
    public var nextAttemptAt: Int64
    public var lastError: String?

    public init(
        id: Int64? = nil, zone: DomainName, child: DomainName, operations: [Update.Operation], state: State = .pending, attempts: Int = 0, createdAt: Int64,
        nextAttemptAt: Int64, lastError: String? = nil
    ) {
        self.id = id
        self.zone = zone
        self.child = child
        self.operations = operations
        self.state = state
        self.attempts = attempts
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
    }
}

/// Persistence for the agent: trust store, audit log, outbox, replay state. Nothing that matters
/// lives only in memory. SQLite is the embedded default; the protocol leaves room for PostgreSQL
/// when several agents share one DSYNC target (DESIGN.md).
public protocol DelegationStore: Sendable {
    // Trust store
    func putKey(_ key: StoredKey) throws
    /// The key for (zone, child, key tag, algorithm), in any state.
    func key(zone: DomainName, child: DomainName, keyTag: UInt16, algorithm: UInt8) throws -> StoredKey?
    func keys(zone: DomainName?, child: DomainName?) throws -> [StoredKey]
    /// Sets the state of matching keys; returns how many changed.
    @discardableResult
    func setKeyState(zone: DomainName, child: DomainName, keyTag: UInt16, state: KeyTrustState) throws -> Int

    // Replay protection (RFC 2931 §3.3 brackets; RFC 2845-style "last time signed")
    /// The newest inception accepted from this key, if any.
    func lastInception(zone: DomainName, child: DomainName, keyTag: UInt16) throws -> UInt32?
    func recordInception(zone: DomainName, child: DomainName, keyTag: UInt16, inception: UInt32) throws

    // Audit
    @discardableResult
    func appendAudit(_ entry: AuditEntry) throws -> Int64
    /// Newest first.
    func audit(child: DomainName?, limit: Int) throws -> [AuditEntry]

    // Outbox
    @discardableResult
    func enqueue(_ entry: OutboxEntry) throws -> Int64
    func outboxEntry(id: Int64) throws -> OutboxEntry?
    /// Pending entries due at or before `now`, oldest first.
    func duePending(now: Int64) throws -> [OutboxEntry]
    func pendingCount() throws -> Int
    func markApplied(id: Int64) throws
    func markAttemptFailed(id: Int64, error: String, nextAttemptAt: Int64) throws
    // Bootstrap jobs (KeyBootstrap values; nothing about a job lives only in memory)
    /// Stores the job, replacing the stored one for the same (zone, child, key).
    func putBootstrap(_ job: KeyBootstrap, now: Int64) throws
    /// Jobs of `child` (all children when `nil`), oldest first; only unfinished ones with `activeOnly`.
    func bootstraps(child: DomainName?, activeOnly: Bool) throws -> [KeyBootstrap]

    /// Gives up on an entry for good (e.g. the policy refuses it against the parent's data as it
    /// is when the primary is back).
    func markFailed(id: Int64, error: String) throws
}
