import DNSWire
import Foundation
import NIOConcurrencyHelpers

/// A held lock on one child (``DelegationStore/tryLockChild(zone:child:)``): changes for the
/// child happen one after another whichever agent receives them. Release it exactly once; a
/// second release does nothing. For PostgreSQL it is a session advisory lock, so an agent that
/// dies releases it with its connection.
public final class ChildStoreLock: Sendable {
    private let releaser: NIOLockedValueBox<(@Sendable () -> Void)?>

    public init(release: @escaping @Sendable () -> Void) {
        releaser = NIOLockedValueBox(release)
    }

    /// Gives the lock up.
    public func release() {
        let release = releaser.withLockedValue { value -> (@Sendable () -> Void)? in
            defer { value = nil }
            return value
        }
        release?()
    }

    deinit { release() }
}

/// Which keys ``DelegationStore/eachKey(_:_:)`` lists (`delegsync keys list`).
public struct KeyFilter: Sendable, Hashable {
    public var zone: DomainName?
    public var child: DomainName?
    public var state: KeyTrustState?
    /// Only keys added at or after this time (Unix seconds).
    public var since: Int64?
    /// At most this many; nil = all.
    public var limit: Int?

    public init(zone: DomainName? = nil, child: DomainName? = nil, state: KeyTrustState? = nil, since: Int64? = nil, limit: Int? = nil) {
        self.zone = zone
        self.child = child
        self.state = state
        self.since = since
        self.limit = limit
    }
}

/// Which audit entries ``DelegationStore/eachAudit(_:_:)`` lists (`delegsync audit`).
public struct AuditFilter: Sendable, Hashable {
    /// Entries whose signer is this child (compared ignoring case).
    public var child: DomainName?
    /// Entries with this decision ("NOERROR", "REFUSED", "TRUSTED", …; compared ignoring case).
    public var decision: String?
    /// Only entries at or after this time (Unix seconds).
    public var since: Int64?
    public var limit: Int?

    public init(child: DomainName? = nil, decision: String? = nil, since: Int64? = nil, limit: Int? = nil) {
        self.child = child
        self.decision = decision
        self.since = since
        self.limit = limit
    }
}

/// Which bootstrap jobs ``DelegationStore/eachBootstrap(_:_:)`` lists (`delegsync status`,
/// `delegsync keys pending`).
public struct BootstrapFilter: Sendable, Hashable {
    public var child: DomainName?
    /// The state as ``SQLiteStore/stateName(_:)`` names it ("verifying", "trusted", …).
    public var state: String?
    /// Only unfinished jobs.
    public var activeOnly: Bool
    /// Only jobs stored at or after this time (Unix seconds).
    public var since: Int64?
    public var limit: Int?

    public init(child: DomainName? = nil, state: String? = nil, activeOnly: Bool = false, since: Int64? = nil, limit: Int? = nil) {
        self.child = child
        self.state = state
        self.activeOnly = activeOnly
        self.since = since
        self.limit = limit
    }
}

/// Who holds a claim: one name per opened store instance (one per agent process), so a
/// restarted agent does not mistake its predecessor's claims for its own.
enum Claimant {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<6).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }.joined()
        return "\(hostName())/\(getpid())/\(random)"
    }

    /// True when `claimant` names a process of this host that no longer runs: its claims can
    /// be taken over at once instead of after the lease (an agent restarted after a crash
    /// finishes its predecessor's work straight away). Claims of other hosts wait for the lease.
    static func isGone(_ claimant: String) -> Bool {
        let parts = claimant.split(separator: "/")
        guard parts.count == 3, String(parts[0]) == hostName(), let pid = pid_t(parts[1]), pid > 0, pid != getpid() else { return false }
        return kill(pid, 0) == -1 && errno == ESRCH
    }

    /// Every claimant holding a claim.
    static let holders = """
        SELECT claimed_by FROM outbox WHERE claimed_by IS NOT NULL
        UNION SELECT claimed_by FROM bootstrap WHERE claimed_by IS NOT NULL
        """

    /// Ends every claim of `claimant`.
    static let release = [
        "UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = ?",
        "UPDATE bootstrap SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = ?",
    ]

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
