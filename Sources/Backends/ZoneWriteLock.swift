import Foundation

/// Mutual exclusion for async code, first come first served: one holder at a time, the others
/// suspended (not blocking a thread) until it is their turn. A waiter cannot be cancelled; it
/// waits for its turn and its body then sees the cancellation.
final class AsyncMutex: @unchecked Sendable {
    // `lock` guards `held` and `waiters`; it is never held across a suspension.
    private let lock = NSLock()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if held {
                waiters.append(continuation)
                lock.unlock()
            } else {
                held = true
                lock.unlock()
                continuation.resume()
            }
        }
    }

    /// Hands the mutex to the longest waiter, or frees it.
    func release() {
        lock.lock()
        guard !waiters.isEmpty else {
            held = false
            lock.unlock()
            return
        }
        let next = waiters.removeFirst()
        lock.unlock()
        next.resume()
    }

    func withLock<T>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }
}

/// One writer per zone file, across every backend value in the process: the NSD backend
/// rewrites the zone's fragment and SOA serial as read-modify-write, so two commits for
/// different children of one zone must not interleave (issue 11). Keyed by the zone file's
/// standardized absolute path; the table grows by one entry per zone file ever written.
enum ZoneWriteLock {
    private static let table = NSLock()
    nonisolated(unsafe) private static var mutexes: [String: AsyncMutex] = [:]

    static func mutex(for path: String) -> AsyncMutex {
        let key = URL(fileURLWithPath: path).standardizedFileURL.path
        table.lock()
        defer { table.unlock() }
        if let mutex = mutexes[key] { return mutex }
        let mutex = AsyncMutex()
        mutexes[key] = mutex
        return mutex
    }
}
