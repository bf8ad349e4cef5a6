import DelegationCore
import Foundation
import Transport
import NIOConcurrencyHelpers

/// Budgets for requests nobody has authenticated yet — self-signed key uploads and KeyState
/// inquiries — per source address, per source prefix (IPv4 /24, IPv6 /56) and in total.
///
/// DESIGN.md ("Who attacks"): anyone can upload self-signed keys for any name, so what they
/// spend is accounted by where they come from and never against a trusted key's budget; a
/// stranger can exhaust only the strangers' budgets. Kept in memory (a restart refills them);
/// the buckets are ``TokenBucket`` values driven by the time passed in.
final class StrangerBudget: Sendable {
    struct Limits: Sendable, Equatable {
        var perSource: Int
        var perPrefix: Int
        var total: Int
        /// The period the numbers are per, seconds.
        var interval: Int64 = 3600
    }

    let limits: Limits
    private let buckets = NIOLockedValueBox<[String: TokenBucket]>([:])

    init(_ limits: Limits) { self.limits = limits }

    /// What ran out, or nil when the request may go on (one token taken from each budget).
    func spend(source address: String, now: Int64) -> String? {
        let prefix = SourcePrefix.of(address)
        return spend(
            [
                ("s " + address, limits.perSource, "from \(address)"),
                ("p " + prefix, limits.perPrefix, "from \(prefix)"),
                ("*", limits.total, "from all sources together"),
            ], now: now)
    }

    /// One token from each named bucket (`capacity` per ``Limits/interval``), or none and what
    /// ran out: budgets keyed by something other than the source, such as a child's name.
    func spend(_ names: [(key: String, capacity: Int, what: String)], now: Int64) -> String? {
        buckets.withLockedValue { buckets in
            if buckets.count > 100_000 { buckets = buckets.filter { !$0.value.isFull(now: now) } }
            // Take from all or from none.
            for (key, capacity, what) in names {
                let bucket = buckets[key] ?? TokenBucket(capacity: capacity, interval: limits.interval, now: now)
                if !bucket.wouldAdmit(now: now) { return "more than \(capacity) per \(limits.interval) s \(what)" }
            }
            for (key, capacity, _) in names {
                var bucket = buckets[key] ?? TokenBucket(capacity: capacity, interval: limits.interval, now: now)
                _ = bucket.take(now: now)
                buckets[key] = bucket
            }
            return nil
        }
    }
}
