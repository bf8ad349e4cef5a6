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

    /// Which key this is (zone, child, algorithm, tag, RDATA digest).
    public var identity: KeyIdentity { KeyIdentity(zone: zone, child: child, rdata: rdata) }
}

/// What a state change of one key did.
public struct KeyStateChange: Sendable, Hashable {
    /// False when the store has no such key.
    public var found: Bool
    /// Queued changes that key signed and that were cancelled with its revocation.
    public var cancelledChanges: Int

    public init(found: Bool, cancelledChanges: Int = 0) {
        self.found = found
        self.cancelledChanges = cancelledChanges
    }
}

/// One authenticated request to admit: replay state (RFC 2931 §3.3) per key identity and a
/// budget, checked and recorded in one transaction so a restart reopens nothing.
public struct Admission: Sendable, Hashable {
    /// The key that signed (its replay state is its own: nothing another key or an upload does
    /// touches it).
    public var key: KeyIdentity
    public var inception: UInt32
    /// A digest of the signature (its bytes are unique per signed message).
    public var signatureDigest: [UInt8]
    /// Until when the signature could be replayed (expiration plus allowed skew), Unix seconds.
    public var expiresAt: Int64
    /// The budget it spends; nil spends none.
    public var budget: Budget?

    /// A durable budget: `perHour` requests an hour (``TokenBucket``), stored under `name`.
    public struct Budget: Sendable, Hashable {
        public var name: String
        public var perHour: Int
        public init(name: String, perHour: Int) {
            self.name = name
            self.perHour = perHour
        }
    }

    public init(key: KeyIdentity, inception: UInt32, signatureDigest: [UInt8], expiresAt: Int64, budget: Budget?) {
        self.key = key
        self.inception = inception
        self.signatureDigest = signatureDigest
        self.expiresAt = expiresAt
        self.budget = budget
    }

    /// What the store decided.
    public enum Verdict: Sendable, Equatable {
        /// Older than the newest inception accepted from this key.
        case older(UInt32)
        /// This signature was accepted before and has not expired.
        case replayed
        /// The budget is spent.
        case rateLimited
        case admitted
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
    /// How many requests this entry stands for: 1, or more for refusals of unauthenticated
    /// requests aggregated per source, reason and minute.
    public var count: Int

    public init(
        id: Int64? = nil, time: Int64, source: String, transport: String, zone: String?, signer: String?, keyTag: UInt16?, request: String, decision: String,
        reason: String, backendResult: String? = nil, count: Int = 1
    ) {
        self.count = count
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
    public enum State: String, Sendable, Codable {
        case pending, applied
        /// Given up: the policy refused it later, a permanent backend error, or the deadline.
        case failed
        /// The key that signed it was revoked before it was applied.
        case cancelled
    }
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
    /// The key whose signature asked for the change: revoking it cancels the change.
    public var signer: KeyIdentity?
    /// After this (Unix seconds) the change is given up and reported, not retried.
    public var deadline: Int64?

    public init(
        id: Int64? = nil, zone: DomainName, child: DomainName, operations: [Update.Operation], state: State = .pending, attempts: Int = 0, createdAt: Int64,
        nextAttemptAt: Int64, lastError: String? = nil, signer: KeyIdentity? = nil, deadline: Int64? = nil
    ) {
        self.signer = signer
        self.deadline = deadline
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
/// lives only in memory. SQLite (``SQLiteStore``) is the embedded default; PostgreSQL
/// (``PostgresStore``) is the store several agents behind one DSYNC target share (DESIGN.md).
///
/// The methods are synchronous: each is one short transaction that blocks the calling thread
/// (see ``PostgresStore`` for how that is done without blocking an event loop).
public protocol DelegationStore: ScanStateStore, Sendable {
    // Trust store
    /// Adds the key, or sets state and origin of the stored key with the same identity.
    func putKey(_ key: StoredKey) throws
    /// Exactly this key, in any state.
    func key(_ identity: KeyIdentity) throws -> StoredKey?
    /// Every key of `child` with this tag and algorithm (colliding tags are normal): trusted first,
    /// then known, then revoked; newest first within each.
    func keys(zone: DomainName, child: DomainName, keyTag: UInt16, algorithm: UInt8) throws -> [StoredKey]
    func keys(zone: DomainName?, child: DomainName?) throws -> [StoredKey]
    /// Sets the state of exactly this key. Revoking it also cancels the pending outbox entries it
    /// signed, in the same transaction.
    @discardableResult
    func setKeyState(_ identity: KeyIdentity, state: KeyTrustState) throws -> KeyStateChange

    // Replay protection and budgets (RFC 2931 §3.3; DDNS draft, Security Considerations)
    /// Checks and records in one transaction: the inception is not older than the newest accepted
    /// from this key, the signature was not accepted before, the budget has a token.
    func admit(_ admission: Admission, now: Int64) throws -> Admission.Verdict

    // Audit
    @discardableResult
    func appendAudit(_ entry: AuditEntry) throws -> Int64
    /// Newest first.
    func audit(child: DomainName?, limit: Int) throws -> [AuditEntry]
    /// Sets how many requests entry `id` stands for (aggregated refusals).
    func setAuditCount(id: Int64, count: Int) throws

    // Group commit (the receive path: several requests' writes in one transaction)
    /// Performs `writes` in order, each seeing the ones before it (a signature admitted earlier in
    /// the batch is a replay later in it), and returns one result per write. When it returns,
    /// every write is durable; when it throws, the caller acknowledges no request of the batch.
    /// A store that can runs them in one transaction, all or nothing; the default (in an
    /// extension) runs ``admit(_:now:)`` and ``appendAudit(_:)`` one after another.
    func commit(_ writes: [StoreWrite]) throws -> [StoreWriteResult]

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

    // Bounded state (what strangers can make the agent keep must not grow without end)
    /// Unfinished jobs due at or before `now` (a round to run, an approval command to ask, a
    /// deadline passed), oldest first; an index on the due time finds them without reading the rest.
    func dueBootstraps(now: Int64) throws -> [KeyBootstrap]
    /// Jobs by state name (verifying, awaiting-confirmation, trusted, failed, rejected,
    /// superseded), counted without decoding them.
    func bootstrapCounts() throws -> [String: Int]
    /// Deletes audit entries, finished jobs and finished outbox entries older than `before`, and
    /// replay state that can no longer matter (inception older than `replayBefore`).
    @discardableResult
    func prune(before: Int64, replayBefore: Int64) throws -> PruneCounts

    // Several agents on one store: claims with a lease, a lock per child (StoreClaims.swift)
    /// Claims the pending outbox entries due at or before `now` that no unexpired claim holds,
    /// oldest first, at most `limit`, for this store instance until `now` plus its lease: no
    /// other agent works on them meanwhile. Applying, failing or giving up an entry ends its
    /// claim; a claim of an agent that died expires.
    func claimDuePending(now: Int64, limit: Int) throws -> [OutboxEntry]
    /// Ends this instance's claim on an entry it did not work on after all.
    func releaseClaim(outboxID: Int64) throws
    /// Claims the unfinished bootstrap jobs due at or before `now` (as ``dueBootstraps(now:)``)
    /// that no unexpired claim holds, at most `limit`; storing a job ends its claim.
    func claimDueBootstraps(now: Int64, limit: Int) throws -> [KeyBootstrap]
    /// Takes the lock that serialises changes for one child across every agent on the store,
    /// or returns nil at once when another holder has it. Release it with ``ChildStoreLock/release()``.
    func tryLockChild(zone: DomainName, child: DomainName) throws -> ChildStoreLock?

    // The operator's views, streamed: rows are handed over one by one, never all loaded
    /// Keys matching `filter`, ordered by child, then key tag.
    func eachKey(_ filter: KeyFilter, _ body: (StoredKey) throws -> Void) throws
    /// Audit entries matching `filter`, newest first.
    func eachAudit(_ filter: AuditFilter, _ body: (AuditEntry) throws -> Void) throws
    /// Bootstrap jobs matching `filter`, oldest first.
    func eachBootstrap(_ filter: BootstrapFilter, _ body: (KeyBootstrap) throws -> Void) throws
    /// Adds or updates many keys in one transaction (``putKey(_:)`` for each).
    func putKeys(_ keys: [StoredKey]) throws
    /// The schema migrations applied, oldest first (the same list on every kind of store).
    func appliedMigrations() throws -> [String]

    // Operator events (EventMonitor): the open episodes, so each is reported once across restarts
    /// Every open episode.
    func eventEpisodes() throws -> [EventMonitor.Episode]
    /// Stores the episode, replacing the one of the same kind, zone and child.
    func putEventEpisode(_ episode: EventMonitor.Episode) throws
    /// Removes the episode of this kind, zone and child; returns it as it was stored (nil when
    /// there was none).
    @discardableResult
    func removeEventEpisode(_ kind: EventMonitor.Episode.Kind, zone: DomainName, child: DomainName?) throws -> EventMonitor.Episode?
    /// Per child with pending outbox entries: the oldest one's creation time, signer and last
    /// error, and how many are pending; counted without decoding any entry.
    func outboxBacklog() throws -> [EventMonitor.Backlog]

    // The agent's proof of identity
    /// A random secret made with the store (32 octets), the same for every process that opens
    /// it: the agent answers `delegsync status` with a MAC under it, so status can tell the agent
    /// serving this store from anything else answering on its address.
    func statusSecret() throws -> [UInt8]
}

/// What ``DelegationStore/prune(before:replayBefore:)`` removed.
public struct PruneCounts: Sendable, Hashable {
    public var audit = 0
    public var bootstraps = 0
    public var outbox = 0
    public var replay = 0
    public init() {}
}
