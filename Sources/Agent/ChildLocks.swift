import DNSWire

/// Serialises work per child: changes for one child happen one after another, different
/// children proceed in parallel (issue: "Changes for one child are serialised").
actor ChildLocks {
    private var busy: Set<DomainName> = []
    private var waiters: [DomainName: [CheckedContinuation<Void, Never>]] = [:]

    func withLock<T: Sendable>(_ child: DomainName, _ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire(child)
        defer { release(child) }
        return try await body()
    }

    private func acquire(_ child: DomainName) async {
        if !busy.contains(child) {
            busy.insert(child)
            return
        }
        await withCheckedContinuation { waiters[child, default: []].append($0) }
    }

    private func release(_ child: DomainName) {
        if var queue = waiters[child], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[child] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            busy.remove(child)
        }
    }
}

/// Per-child rate limit over a sliding hour (DDNS draft, Security Considerations: no child
/// legitimately changes its delegation often), and a short memory of signatures already seen.
actor RequestGuard {
    let perHour: Int
    private var accepted: [DomainName: [Int64]] = [:]
    private var seenSignatures: [[UInt8]: Int64] = [:]

    init(perHour: Int) { self.perHour = perHour }

    /// Counts an accepted request; false when the child is over its limit.
    func admit(_ child: DomainName, now: Int64) -> Bool {
        var times = accepted[child] ?? []
        // Times are appended in order: drop the expired ones from the front.
        let expired = times.prefix { $0 <= now - 3600 }.count
        if expired > 0 { times.removeFirst(expired) }
        guard times.count < perHour else {
            accepted[child] = times
            return false
        }
        times.append(now)
        accepted[child] = times
        return true
    }

    private var pruneAt = 10_000

    /// True the first time a signature is seen within its validity (RFC 2931 §3.3: replay).
    func firstSighting(of signature: [UInt8], expiresAt: Int64, now: Int64) -> Bool {
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

    private var lastInceptions: [InceptionKey: UInt32] = [:]

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

    /// Replay and rate checks in one step. The newest accepted inception per key is kept here,
    /// loaded from the store (`loadInception`) the first time; the store stays the record
    /// across restarts.
    func admit(
        zone: DomainName, child: DomainName, keyTag: UInt16, inception: UInt32, signature: [UInt8], expiresAt: Int64, now: Int64,
        loadInception: @Sendable () -> UInt32?
    ) -> Verdict {
        let key = InceptionKey(zone: zone, child: child, keyTag: keyTag)
        let last = lastInceptions[key] ?? loadInception()
        if let last, Int64(inception) < Int64(last) { return .older(last) }
        guard firstSighting(of: signature, expiresAt: expiresAt, now: now) else { return .replayed }
        guard admit(child, now: now) else { return .rateLimited }
        lastInceptions[key] = inception
        return .admitted(last != inception)
    }
}
