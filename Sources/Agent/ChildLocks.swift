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
