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
        var times = (accepted[child] ?? []).filter { $0 > now - 3600 }
        guard times.count < perHour else {
            accepted[child] = times
            return false
        }
        times.append(now)
        accepted[child] = times
        return true
    }

    /// True the first time a signature is seen within its validity (RFC 2931 §3.3: replay).
    func firstSighting(of signature: [UInt8], expiresAt: Int64, now: Int64) -> Bool {
        if seenSignatures.count > 10_000 { seenSignatures = seenSignatures.filter { $0.value >= now } }
        if let until = seenSignatures[signature], until >= now { return false }
        seenSignatures[signature] = expiresAt
        return true
    }
}
