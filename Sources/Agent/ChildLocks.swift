import DNSWire
import NIOConcurrencyHelpers

/// Serialises work per child: changes for one child happen one after another, different
/// children proceed in parallel (issue: "Changes for one child are serialised").
///
/// A mutex-guarded set rather than an actor: an uncontended lock costs no executor hop, and the
/// waiting task only suspends when another request for the same child holds it.
final class ChildLocks: Sendable {
    private struct State {
        var busy: Set<DomainName> = []
        var waiters: [DomainName: [CheckedContinuation<Void, Never>]] = [:]
    }
    private let state = NIOLockedValueBox(State())

    func withLock<T: Sendable>(_ child: DomainName, _ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire(child)
        defer { release(child) }
        return try await body()
    }

    private func acquire(_ child: DomainName) async {
        let acquired = state.withLockedValue { $0.busy.insert(child).inserted }
        if acquired { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // The holder may have released between the two steps: take the lock if it is free.
            let take = state.withLockedValue { state -> Bool in
                if state.busy.insert(child).inserted { return true }
                state.waiters[child, default: []].append(continuation)
                return false
            }
            if take { continuation.resume() }
        }
    }

    /// Hands the lock to the next waiter (it stays busy), or frees it.
    private func release(_ child: DomainName) {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if var queue = state.waiters[child], !queue.isEmpty {
                let next = queue.removeFirst()
                state.waiters[child] = queue.isEmpty ? nil : queue
                return next
            }
            state.busy.remove(child)
            return nil
        }
        next?.resume()
    }
}

/// Per-child rate limit over a sliding hour (DDNS draft, Security Considerations: no child
/// legitimately changes its delegation often), and a short memory of signatures already seen.
/// Synchronous under one mutex: every step is a few dictionary operations.
final class RequestGuard: Sendable {
    let perHour: Int
    fileprivate struct State {
        var accepted: [DomainName: [(minute: Int64, count: Int)]] = [:]
        var seenSignatures: [[UInt8]: Int64] = [:]
        var pruneAt = 10_000
        var lastInceptions: [InceptionKey: UInt32] = [:]
    }
    private let state = NIOLockedValueBox(State())

    init(perHour: Int) { self.perHour = perHour }

    struct InceptionKey: Hashable {
        let zone: DomainName
        let child: DomainName
        let keyTag: UInt16
    }

    /// What ``admit(zone:child:keyTag:inception:signature:expiresAt:now:loadInception:)`` decided.
    enum Verdict: Sendable, Equatable {
        /// Older than the newest accepted inception of this key.
        case older(UInt32)
        /// This very signature was seen before.
        case replayed
        /// The child is over its hourly limit.
        case rateLimited
        /// Admitted; `true` when the inception is newer than the stored one (write it).
        case admitted(Bool)
    }

    /// Replay (RFC 2931 §3.3: nothing older than the newest accepted inception, no signature
    /// twice within its validity) and rate checks in one step. The newest accepted inception per
    /// key is kept here, loaded from the store (`loadInception`) the first time; the store stays
    /// the record across restarts.
    func admit(
        zone: DomainName, child: DomainName, keyTag: UInt16, inception: UInt32, signature: [UInt8], expiresAt: Int64, now: Int64,
        loadInception: () -> UInt32?
    ) -> Verdict {
        let key = InceptionKey(zone: zone, child: child, keyTag: keyTag)
        let known = state.withLockedValue { $0.lastInceptions[key] }
        // Read outside the lock: the store is slow compared with the rest.
        let loaded = known == nil ? loadInception() : nil
        return state.withLockedValue { state in
            let last = state.lastInceptions[key] ?? known ?? loaded
            if let last, Int64(inception) < Int64(last) { return .older(last) }
            guard state.firstSighting(of: signature, expiresAt: expiresAt, now: now) else { return .replayed }
            guard state.admit(child, now: now, perHour: perHour) else { return .rateLimited }
            state.lastInceptions[key] = inception
            return .admitted(last != inception)
        }
    }
}

extension RequestGuard.State {
    /// Counts an accepted request; false when the child is over its limit. The hour slides by
    /// the minute: requests are counted in per-minute buckets, so the memory per child stays at
    /// most 60 entries whatever the limit.
    fileprivate mutating func admit(_ child: DomainName, now: Int64, perHour: Int) -> Bool {
        let minute = now / 60
        // Taken out of the dictionary so it is mutated in place, not copied.
        var buckets = accepted.removeValue(forKey: child) ?? []
        defer { accepted[child] = buckets.isEmpty ? nil : buckets }
        // Buckets are appended in order: drop those older than an hour from the front.
        let expired = buckets.prefix { $0.minute <= minute - 60 }.count
        if expired > 0 { buckets.removeFirst(expired) }
        guard buckets.reduce(0, { $0 + $1.count }) < perHour else { return false }
        if let last = buckets.indices.last, buckets[last].minute == minute {
            buckets[last].count += 1
        } else {
            buckets.append((minute, 1))
        }
        return true
    }

    /// True the first time a signature is seen within its validity (RFC 2931 §3.3: replay).
    fileprivate mutating func firstSighting(of signature: [UInt8], expiresAt: Int64, now: Int64) -> Bool {
        if seenSignatures.count > pruneAt {
            // Drop expired signatures; if most are still live, wait for twice as many before the
            // next sweep, so the cost stays linear.
            seenSignatures = seenSignatures.filter { $0.value >= now }
            pruneAt = max(10_000, seenSignatures.count * 2)
        }
        if let until = seenSignatures[signature], until >= now { return false }
        seenSignatures[signature] = expiresAt
        return true
    }
}
