import DNSWire

/// The scanner's memory of an unsigned child that asks for its first DS without an RFC 9615
/// signal: RFC 8078 §3.3 "accept after delay" — the same CDS/CDNSKEY, consistent on every
/// server, seen over several days and several scans before the parent trusts it (SWITCH: 3 days,
/// 3 unchanged scans; .cz: 7 days). Any change of the DS set asked for, and any scan that
/// refuses it, starts over. A value the store keeps, so a restart loses nothing.
public struct BootstrapObservation: Sendable, Hashable, Codable {
    /// The DS RDATAs the child's CDS/CDNSKEY ask for, in canonical order.
    public var ds: [[UInt8]]
    /// When this DS set was first seen (Unix seconds).
    public var firstSeen: Int64
    /// The last scan that counted.
    public var lastCounted: Int64
    /// Scans that saw it unchanged, counted at most once per ``Rule/spacing``.
    public var scans: Int

    public init(ds: Set<[UInt8]>, firstSeen: Int64, lastCounted: Int64, scans: Int) {
        self.ds = ds.sorted { $0.lexicographicallyPrecedes($1) }
        self.firstSeen = firstSeen
        self.lastCounted = lastCounted
        self.scans = scans
    }

    /// How long and how often (configuration `scanner.bootstrap-days`, `scanner.bootstrap-scans`).
    public struct Rule: Sendable, Hashable {
        public var days: Int
        public var scans: Int

        public init(days: Int = 3, scans: Int = 3) {
            self.days = max(0, days)
            self.scans = max(1, scans)
        }

        /// The period, seconds.
        public var period: Int64 { Int64(days) * 86400 }
        /// Counted scans are at least this far apart, so that they spread over the period.
        public var spacing: Int64 { period / Int64(scans) }
    }

    /// The observation after a scan at `now` that found `ds` consistent and self-signed, and
    /// whether the delay is over: at least `rule.scans` counted scans and `rule.days` since the
    /// first.
    public static func advance(_ previous: BootstrapObservation?, ds: Set<[UInt8]>, now: Int64, rule: Rule) -> (
        observation: BootstrapObservation, accepted: Bool
    ) {
        var observation = BootstrapObservation(ds: ds, firstSeen: now, lastCounted: now, scans: 1)
        if let previous, Set(previous.ds) == ds, now >= previous.firstSeen {
            observation = previous
            if now - previous.lastCounted >= rule.spacing, now > previous.lastCounted || rule.spacing == 0 {
                observation.scans += 1
                observation.lastCounted = now
            }
        }
        return (observation, observation.scans >= rule.scans && now - observation.firstSeen >= rule.period)
    }

    /// The earliest time the delay can be over (more scans may still be needed).
    public func acceptableFrom(_ rule: Rule) -> Int64 { firstSeen + rule.period }
}
