/// A rate budget as a value (STYLE.md, "Budgets as data"): `capacity` requests at once, refilled
/// continuously at `capacity` per `interval` seconds. Time is passed in; a store persists the
/// buckets that must survive a restart, memory holds the others.
///
/// The DDNS draft (Security Considerations) expects a strict per-child limit; RFC 2931 §3.3 and
/// CVE-2024-1975 are why the unauthenticated get budgets of their own.
public struct TokenBucket: Sendable, Hashable {
    public let capacity: Double
    /// Tokens added per second.
    public let refill: Double
    public private(set) var tokens: Double
    public private(set) var updatedAt: Int64

    /// A full bucket.
    public init(capacity: Int, interval: Int64, now: Int64) {
        self.init(capacity: capacity, interval: interval, tokens: Double(capacity), updatedAt: now)
    }

    /// A bucket as stored.
    public init(capacity: Int, interval: Int64, tokens: Double, updatedAt: Int64) {
        self.capacity = Double(max(1, capacity))
        self.refill = self.capacity / Double(max(1, interval))
        self.tokens = min(self.capacity, max(0, tokens))
        self.updatedAt = updatedAt
    }

    /// Refills for the time since the last use, then takes one token; false (and nothing taken)
    /// when the bucket is empty. A clock that goes backwards refills nothing.
    public mutating func take(now: Int64) -> Bool {
        refill(now: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Whether a token is there at `now`, without taking it.
    public func wouldAdmit(now: Int64) -> Bool {
        var copy = self
        copy.refill(now: now)
        return copy.tokens >= 1
    }

    /// Full again: nothing taken within the last refill period; such buckets can be forgotten.
    public func isFull(now: Int64) -> Bool {
        var copy = self
        copy.refill(now: now)
        return copy.tokens >= capacity
    }

    private mutating func refill(now: Int64) {
        if now > updatedAt {
            tokens = min(capacity, tokens + Double(now - updatedAt) * refill)
            updatedAt = now
        }
    }
}
