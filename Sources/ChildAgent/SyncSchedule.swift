import DNSWire

/// When `delegsync child watch` syncs each child zone: once at start, after a NOTIFY (RFC 1996)
/// once the zone has been quiet for the debounce time, and whenever a child has gone `interval`
/// without a sync. Never two syncs of one child at once.
///
/// A pure value (no clock, no I/O): the caller passes every instant in and performs what
/// ``takeDue(at:)`` hands out, reporting back with ``finished(_:at:)``.
///
/// The rules:
/// - A NOTIFY at `t` makes the child due at `t + debounce`; another NOTIFY before then restarts
///   the wait (a primary that sends a burst of changes is synced once, after the last).
/// - The interval counts from the end of the child's last sync, whatever started it; a child
///   that never synced is due at once (``Reason/startup``).
/// - The interval also bounds the debounce: a child whose primary keeps notifying faster than
///   the debounce time is still synced at least once per interval.
/// - A child whose sync runs is never handed out again until ``finished(_:at:)``; a NOTIFY that
///   arrives meanwhile is kept (the running sync may have read the zone before the change) and
///   makes the child due again once its quiet time has passed.
public struct SyncSchedule: Sendable, Equatable {
    public typealias Instant = ContinuousClock.Instant

    /// Why a child is due, for the log.
    public enum Reason: String, Sendable, Hashable, CustomStringConvertible {
        /// The child has not been synced since the watcher started (or since it was added).
        case startup
        /// A NOTIFY arrived and the debounce time passed without another.
        case notify
        /// The child went `interval` without a sync.
        case interval

        public var description: String {
            switch self {
            case .startup: "start-up"
            case .notify: "NOTIFY"
            case .interval: "interval"
            }
        }
    }

    /// A child to sync now, and why.
    public struct Due: Sendable, Hashable {
        public let child: DomainName
        public let reason: Reason

        public init(child: DomainName, reason: Reason) {
            self.child = child
            self.reason = reason
        }
    }

    struct Entry: Sendable, Equatable {
        /// When the child entered the schedule: a child never synced is due from then on.
        var added: Instant
        /// The end of the last sync, whatever its result.
        var lastFinished: Instant?
        /// Set by a NOTIFY: the child is due once this instant is reached.
        var quietUntil: Instant?
        var running = false
    }

    /// Quiet time after a NOTIFY before the sync starts.
    public private(set) var debounce: Duration
    /// Longest time a child goes without a sync.
    public private(set) var interval: Duration
    /// The children in configuration order (so ``takeDue(at:)`` is deterministic).
    public private(set) var children: [DomainName]
    var entries: [DomainName: Entry]

    /// A schedule in which every child is due at `now` (the start-up sync).
    public init(children: [DomainName], debounce: Duration, interval: Duration, now: Instant) {
        self.debounce = max(.zero, debounce)
        self.interval = max(.zero, interval)
        self.children = []
        self.entries = [:]
        for child in children where entries[child] == nil {
            self.children.append(child)
            entries[child] = Entry(added: now)
        }
    }

    /// A new configuration (SIGHUP): children that stay keep their state (a running sync, a
    /// pending NOTIFY, the time of their last sync); new children are due at `now`; removed
    /// children are dropped (a sync of theirs still running just finishes). A new interval applies
    /// at once; a new debounce time to NOTIFYs from now on.
    public mutating func reconfigure(children: [DomainName], debounce: Duration, interval: Duration, now: Instant) {
        self.debounce = max(.zero, debounce)
        self.interval = max(.zero, interval)
        var kept: [DomainName: Entry] = [:]
        var order: [DomainName] = []
        for child in children where kept[child] == nil {
            order.append(child)
            kept[child] = entries[child] ?? Entry(added: now)
        }
        self.children = order
        entries = kept
    }

    /// A NOTIFY for `child` arrived at `now`: the child is due at `now + debounce`, and an
    /// earlier wait restarts. Returns `false` for a child not in the schedule (nothing changes).
    @discardableResult
    public mutating func notified(_ child: DomainName, at now: Instant) -> Bool {
        guard entries[child] != nil else { return false }
        entries[child]?.quietUntil = now + debounce
        return true
    }

    /// The children due at `now`, in configuration order, each now counted as running; a
    /// pending NOTIFY of each is consumed by this sync. A child that is running is never due.
    public mutating func takeDue(at now: Instant) -> [Due] {
        var due: [Due] = []
        for child in children {
            guard var entry = entries[child], !entry.running, let reason = Self.reason(entry, interval: interval, now: now) else { continue }
            entry.running = true
            entry.quietUntil = nil
            entries[child] = entry
            due.append(Due(child: child, reason: reason))
        }
        return due
    }

    /// The sync of `child` ended at `now` (done or failed): the interval counts from here. A
    /// child no longer in the schedule is ignored.
    public mutating func finished(_ child: DomainName, at now: Instant) {
        guard entries[child] != nil else { return }
        entries[child]?.running = false
        entries[child]?.lastFinished = now
    }

    /// The earliest instant at which a child that is not running becomes due (it may lie in the
    /// past: then ``takeDue(at:)`` hands something out now); `nil` when every child is running.
    public var nextDeadline: Instant? {
        entries.values.filter { !$0.running }.map { Self.deadline($0, interval: interval) }.min()
    }

    /// Whether a sync of `child` is under way.
    public func isRunning(_ child: DomainName) -> Bool { entries[child]?.running ?? false }

    /// The children whose sync is under way, in configuration order.
    public var running: [DomainName] { children.filter { entries[$0]?.running ?? false } }

    /// When the interval (or, for a child never synced, the start-up) makes the child due.
    static func intervalDeadline(_ entry: Entry, interval: Duration) -> Instant {
        entry.lastFinished.map { $0 + interval } ?? entry.added
    }

    static func deadline(_ entry: Entry, interval: Duration) -> Instant {
        let byInterval = intervalDeadline(entry, interval: interval)
        guard let quiet = entry.quietUntil else { return byInterval }
        return min(quiet, byInterval)
    }

    static func reason(_ entry: Entry, interval: Duration, now: Instant) -> Reason? {
        if let quiet = entry.quietUntil, quiet <= now { return .notify }
        guard intervalDeadline(entry, interval: interval) <= now else { return nil }
        return entry.lastFinished == nil ? .startup : .interval
    }
}
