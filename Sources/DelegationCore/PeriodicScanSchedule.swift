import DNSWire

/// When each child's periodic CDS/CSYNC scan comes due (the parent's side of RFC 9859 §3, and
/// RFC 7344 §6.1's "polling"): every child once per `interval`, at an offset derived from its
/// name — the same on every agent and after a restart — so that the scans of a zone spread over
/// the interval, and several agents on one store pick the same slot for a child.
///
/// A round asks only about the children whose slot passed since the round before (and, after
/// the set of children changed, once about each child that is new to it, to catch up on slots
/// missed while no agent ran); a registry's million children cost a round what the few due in
/// it cost, not a look at every child. The schedule hands a child out; whether it is still due
/// is for the caller to decide with the child's last scan (``isDue(_:lastScan:interval:now:)``),
/// since another agent may have scanned it meanwhile.
///
/// No I/O: time is a parameter.
public struct PeriodicScanSchedule: Sendable {
    public let interval: Int64
    /// The children, sorted by offset.
    private var slots: [(offset: Int64, child: DomainName)] = []
    private var members: Set<DomainName> = []
    /// Children handed out next, in order; `head` is the first not yet handed out.
    private var waiting: [DomainName] = []
    private var head = 0
    /// Slots up to this time have been put in `waiting`.
    private var through: Int64

    /// An empty schedule whose slots count from `now` on.
    public init(interval: Int64, now: Int64) {
        precondition(interval > 0, "a periodic scan needs an interval")
        self.interval = interval
        self.through = now
    }

    /// How many children the schedule holds.
    public var count: Int { slots.count }

    /// The children the schedule holds.
    public var children: Set<DomainName> { members }

    /// How many children wait to be handed out.
    public var backlog: Int { waiting.count - head }

    /// The child's offset in the interval: the first 56 bits of SHA-256 of its name in
    /// canonical (lower-case) wire form, modulo the interval.
    public static func offset(_ child: DomainName, interval: Int64) -> Int64 {
        Int64(SHA256.digest(child.lowercased.wire).prefix(7).reduce(0) { $0 << 8 | UInt64($1) } % UInt64(interval))
    }

    /// Whether `child`'s slot in the interval came since `lastScan`: slots are `interval` apart,
    /// at ``offset(_:interval:)``.
    public static func isDue(_ child: DomainName, lastScan: Int64, interval: Int64, now: Int64) -> Bool {
        let offset = offset(child, interval: interval)
        let slot = now - ((now - offset) % interval + interval) % interval
        return lastScan < slot
    }

    /// Makes `children` the schedule's children. Those it did not hold are handed out once at
    /// the next round (all of them the first time), whatever their slot; those gone are no
    /// longer handed out.
    public mutating func update(children: some Sequence<DomainName>) {
        let new = Set(children)
        let added = new.subtracting(members)
        members = new
        slots = new.map { (Self.offset($0, interval: interval), $0) }.sorted { $0.offset != $1.offset ? $0.offset < $1.offset : $0.child < $1.child }
        waiting = Array(waiting[head...]) + added.sorted()
        head = 0
    }

    /// Puts the children whose slot came since the last round (up to `now`) behind those still
    /// waiting.
    public mutating func advance(now: Int64) {
        guard now > through else { return }
        defer { through = now }
        if now - through >= interval {
            waiting += slots.map(\.child)
            return
        }
        let from = ((through % interval) + interval) % interval
        let to = ((now % interval) + interval) % interval
        // Offsets in (from, to], wrapping around the end of the interval.
        if from < to {
            waiting += slots[firstIndex(after: from)..<firstIndex(after: to)].map(\.child)
        } else {
            waiting += slots[firstIndex(after: from)...].map(\.child)
            waiting += slots[..<firstIndex(after: to)].map(\.child)
        }
    }

    /// The next child to look at, or nil when none waits.
    public mutating func next() -> DomainName? {
        while head < waiting.count {
            let child = waiting[head]
            head += 1
            if head > 1024 && head * 2 > waiting.count {
                waiting.removeFirst(head)
                head = 0
            }
            if members.contains(child) { return child }
        }
        return nil
    }

    /// The index of the first slot whose offset is above `offset`.
    private func firstIndex(after offset: Int64) -> Int {
        var (low, high) = (0, slots.count)
        while low < high {
            let middle = (low + high) / 2
            if slots[middle].offset <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
