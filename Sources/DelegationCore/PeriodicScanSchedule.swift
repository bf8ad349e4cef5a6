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
/// The names are kept back to back in one buffer (a million children take tens of megabytes,
/// not a million allocations). No I/O: time is a parameter.
public struct PeriodicScanSchedule: Sendable {
    public let interval: Int64
    /// The children, compact and sorted by offset (``Children``).
    private var children = Children()
    /// What waits to be handed out, in order: runs of indices into `children.slots`.
    private var waiting: [Range<Int>] = []
    /// The next index to hand out is `waiting[head].lowerBound + position`.
    private var head = 0
    private var position = 0
    /// Slots up to this time have been put in `waiting`.
    private var through: Int64

    /// The children of a schedule as they are gathered (a zone transfer's list, the children the
    /// store knows): their lower-cased wire forms back to back, duplicates allowed until
    /// ``PeriodicScanSchedule/update(_:)`` sorts them out.
    public struct Children: Sendable {
        fileprivate struct Slot: Sendable {
            var offset: Int64
            var start: Int32
            var length: Int32
        }
        fileprivate var names: [UInt8] = []
        fileprivate var slots: [Slot] = []

        public init() {}

        /// How many names were gathered (duplicates included until the schedule takes them).
        public var count: Int { slots.count }

        /// Adds `child` (its offset comes with the schedule's interval in ``PeriodicScanSchedule/update(_:)``).
        public mutating func insert(_ child: DomainName) {
            let wire = child.lowercased.wire
            slots.append(Slot(offset: -1, start: Int32(names.count), length: Int32(wire.count)))
            names += wire
        }

        fileprivate func wire(_ slot: Slot) -> ArraySlice<UInt8> { names[Int(slot.start)..<Int(slot.start + slot.length)] }

        fileprivate func name(at index: Int) -> DomainName? {
            try? DomainName.read(from: Array(wire(slots[index])), at: 0).name
        }

        /// Offsets for `interval`, sorted by offset and name, each name once.
        fileprivate mutating func arrange(interval: Int64) {
            for index in slots.indices where slots[index].offset < 0 {
                slots[index].offset = PeriodicScanSchedule.offset(wire: Array(wire(slots[index])), interval: interval)
            }
            let names = self.names
            func precedes(_ a: Slot, _ b: Slot) -> Bool {
                if a.offset != b.offset { return a.offset < b.offset }
                return names[Int(a.start)..<Int(a.start + a.length)].lexicographicallyPrecedes(names[Int(b.start)..<Int(b.start + b.length)])
            }
            slots.sort(by: precedes)
            var unique: [Slot] = []
            unique.reserveCapacity(slots.count)
            for slot in slots where unique.last.map({ precedes($0, slot) }) ?? true { unique.append(slot) }
            slots = unique
        }
    }

    /// An empty schedule whose slots count from `now` on.
    public init(interval: Int64, now: Int64) {
        precondition(interval > 0, "a periodic scan needs an interval")
        self.interval = interval
        self.through = now
    }

    /// How many children the schedule holds.
    public var count: Int { children.slots.count }

    /// How many children wait to be handed out.
    public var backlog: Int {
        guard head < waiting.count else { return 0 }
        return waiting[head...].reduce(0) { $0 + $1.count } - position
    }

    /// The child's offset in the interval: the first 56 bits of SHA-256 of its name in
    /// canonical (lower-case) wire form, modulo the interval.
    public static func offset(_ child: DomainName, interval: Int64) -> Int64 {
        offset(wire: child.lowercased.wire, interval: interval)
    }

    static func offset(wire: [UInt8], interval: Int64) -> Int64 {
        Int64(SHA256.digest(wire).prefix(7).reduce(0) { $0 << 8 | UInt64($1) } % UInt64(interval))
    }

    /// Whether `child`'s slot in the interval came since `lastScan`: slots are `interval` apart,
    /// at ``offset(_:interval:)``.
    public static func isDue(_ child: DomainName, lastScan: Int64, interval: Int64, now: Int64) -> Bool {
        let offset = offset(child, interval: interval)
        let slot = now - ((now - offset) % interval + interval) % interval
        return lastScan < slot
    }

    /// Adds the schedule's own children to `gathered` (to keep them when a new list cannot be
    /// had).
    public func gather(into gathered: inout Children) {
        for slot in children.slots { gathered.insert(name: children.wire(slot)) }
    }

    /// Makes `gathered` the schedule's children. Those it did not hold are handed out once at
    /// the next round (all of them the first time, and all again when some were still waiting),
    /// whatever their slot; those gone are no longer handed out.
    public mutating func update(_ gathered: consuming Children) {
        var new = gathered
        new.arrange(interval: interval)
        if children.slots.isEmpty || backlog > 0 {
            waiting = [0..<new.slots.count]
        } else {
            // Both sorted the same way: one walk finds the children new to the schedule.
            var added: [Range<Int>] = []
            var old = 0
            for (index, slot) in new.slots.enumerated() {
                while old < children.slots.count, precedes(children, children.slots[old], new, slot) { old += 1 }
                let known = old < children.slots.count && !precedes(new, slot, children, children.slots[old])
                guard !known else { continue }
                if let last = added.last, last.upperBound == index {
                    added[added.count - 1] = last.lowerBound..<index + 1
                } else {
                    added.append(index..<index + 1)
                }
            }
            waiting = added
        }
        (head, position) = (0, 0)
        children = new
    }

    /// ``update(_:)`` with `children`.
    public mutating func update(children: some Sequence<DomainName>) {
        var gathered = Children()
        for child in children { gathered.insert(child) }
        update(gathered)
    }

    /// Whether slot `a` of `left` comes before slot `b` of `right`.
    private func precedes(_ left: Children, _ a: Children.Slot, _ right: Children, _ b: Children.Slot) -> Bool {
        if a.offset != b.offset { return a.offset < b.offset }
        return left.wire(a).lexicographicallyPrecedes(right.wire(b))
    }

    /// Puts the children whose slot came since the last round (up to `now`) behind those still
    /// waiting.
    public mutating func advance(now: Int64) {
        guard now > through else { return }
        defer { through = now }
        if now - through >= interval {
            waiting.append(0..<children.slots.count)
            return
        }
        let from = ((through % interval) + interval) % interval
        let to = ((now % interval) + interval) % interval
        // Offsets in (from, to], wrapping around the end of the interval.
        if from < to {
            waiting.append(firstIndex(after: from)..<firstIndex(after: to))
        } else {
            waiting.append(firstIndex(after: from)..<children.slots.count)
            waiting.append(0..<firstIndex(after: to))
        }
    }

    /// The next child to look at, or nil when none waits.
    public mutating func next() -> DomainName? {
        while head < waiting.count {
            let run = waiting[head]
            if position < run.count {
                position += 1
                if let child = children.name(at: run.lowerBound + position - 1) { return child }
                continue
            }
            (head, position) = (head + 1, 0)
            if head > 64 && head * 2 > waiting.count {
                waiting.removeFirst(head)
                head = 0
            }
        }
        return nil
    }

    /// The index of the first slot whose offset is above `offset`.
    private func firstIndex(after offset: Int64) -> Int {
        var (low, high) = (0, children.slots.count)
        while low < high {
            let middle = (low + high) / 2
            if children.slots[middle].offset <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension PeriodicScanSchedule.Children {
    /// Adds a name already in lower-cased wire form.
    fileprivate mutating func insert(name wire: ArraySlice<UInt8>) {
        slots.append(Slot(offset: -1, start: Int32(names.count), length: Int32(wire.count)))
        names += wire
    }
}
