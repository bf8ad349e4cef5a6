import DNSWire
import NIOConcurrencyHelpers

/// Scans waiting to run, at most one per child: a NOTIFY schedules one a few seconds ahead
/// (``NotifyIntake/debounce``), and further NOTIFYs for the same child before it runs join it.
/// Bounded: a full queue refuses more. In memory — a NOTIFY is only a hint (RFC 9859 §4), and the
/// periodic scan finds whatever a lost one announced.
public final class ScanQueue: Sendable {
    public struct Entry: Sendable, Hashable {
        public let zone: DomainName
        public let child: DomainName
    }

    /// Why a scan was scheduled (for the audit): "NOTIFY(CDS) from 192.0.2.7:5353".
    public struct Scheduled: Sendable, Hashable {
        public let entry: Entry
        public let due: Int64
        public let trigger: String
    }

    public enum Result: Sendable, Equatable {
        case scheduled
        /// A scan of this child is already waiting; it will see the same data.
        case alreadyScheduled
        case full
    }

    public let capacity: Int
    private let entries = NIOLockedValueBox<[Entry: Scheduled]>([:])

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    public func schedule(zone: DomainName, child: DomainName, at due: Int64, trigger: String) -> Result {
        let entry = Entry(zone: zone, child: child)
        return entries.withLockedValue { entries in
            if entries[entry] != nil { return .alreadyScheduled }
            guard entries.count < capacity else { return .full }
            entries[entry] = Scheduled(entry: entry, due: due, trigger: trigger)
            return .scheduled
        }
    }

    public func isScheduled(zone: DomainName, child: DomainName) -> Bool {
        entries.withLockedValue { $0[Entry(zone: zone, child: child)] != nil }
    }

    /// Takes the scans due at `now` out of the queue, earliest first.
    public func takeDue(now: Int64) -> [Scheduled] {
        entries.withLockedValue { entries in
            let due = entries.values.filter { $0.due <= now }.sorted { ($0.due, $0.entry.child) < ($1.due, $1.entry.child) }
            for scheduled in due { entries[scheduled.entry] = nil }
            return due
        }
    }

    public var count: Int { entries.withLockedValue { $0.count } }
}
