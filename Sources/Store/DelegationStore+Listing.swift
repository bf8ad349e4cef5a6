import DNSWire
import DelegationCore

/// The collecting forms of the streamed listings, the same for every store.
extension DelegationStore {
    /// The keys of `zone`, of `child`, of both, or all keys when both are `nil`; ordered by
    /// child (as lower-cased text), then key tag.
    public func keys(zone: DomainName?, child: DomainName?) throws -> [StoredKey] {
        var keys: [StoredKey] = []
        try eachKey(KeyFilter(zone: zone, child: child)) { keys.append($0) }
        return keys
    }

    /// The newest `limit` entries, of all signers or of `child` (compared with the signer,
    /// ignoring case).
    public func audit(child: DomainName?, limit: Int) throws -> [AuditEntry] {
        var entries: [AuditEntry] = []
        try eachAudit(AuditFilter(child: child, limit: limit)) { entries.append($0) }
        return entries
    }

    public func bootstraps(child: DomainName?, activeOnly: Bool) throws -> [KeyBootstrap] {
        var jobs: [KeyBootstrap] = []
        try eachBootstrap(BootstrapFilter(child: child, activeOnly: activeOnly)) { jobs.append($0) }
        return jobs
    }
}
