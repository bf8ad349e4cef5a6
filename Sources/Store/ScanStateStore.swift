import DNSWire
import DelegationCore

/// What the CDS/CSYNC scanner remembers of one child between scans: when it last looked, what
/// it decided, and the RFC 8078 §3.3 observation of an unsigned child waiting for its first DS.
public struct ScanState: Sendable, Hashable {
    public var zone: DomainName
    public var child: DomainName
    /// Unix seconds of the last scan.
    public var lastScanAt: Int64
    /// What the last scan decided, in words (for `delegsync status` and the operator).
    public var lastResult: String
    public var bootstrap: BootstrapObservation?

    public init(zone: DomainName, child: DomainName, lastScanAt: Int64, lastResult: String, bootstrap: BootstrapObservation? = nil) {
        self.zone = zone
        self.child = child
        self.lastScanAt = lastScanAt
        self.lastResult = lastResult
        self.bootstrap = bootstrap
    }
}

/// Persistence of ``ScanState``: one row per (zone, child), replaced by each scan. Part of every
/// ``DelegationStore``, so a restart resumes a multi-day bootstrap where it was.
public protocol ScanStateStore: Sendable {
    func scanState(zone: DomainName, child: DomainName) throws -> ScanState?
    /// Stores the state, replacing the stored one of the same (zone, child).
    func putScanState(_ state: ScanState) throws
    /// The states of `zone` (of every zone when nil), ordered by zone and child.
    func scanStates(zone: DomainName?) throws -> [ScanState]
    /// The same, one at a time as the store reads them (a zone's million children are never
    /// all in memory at once).
    func eachScanState(zone: DomainName?, _ body: (ScanState) throws -> Void) throws
}

extension ScanStateStore {
    public func scanStates(zone: DomainName?) throws -> [ScanState] {
        var states: [ScanState] = []
        try eachScanState(zone: zone) { states.append($0) }
        return states
    }
}
