import DNSWire
import Store

extension ChildLocks {
    /// A change for the child is being committed by another agent on the same store for longer
    /// than the wait allows.
    struct Busy: Error, CustomStringConvertible {
        let child: DomainName
        var description: String { "another agent on the same store has been changing \(child) for too long; try again" }
    }

    /// Serialises work on one child across every agent sharing `store`: first among this
    /// process's requests (in arrival order), then through the store's lock for the child
    /// (``DelegationStore/tryLockChild(zone:child:)``), which is tried again with a growing
    /// pause until `waitLimit` has passed; then ``Busy``.
    func withLock<T: Sendable>(
        zone: DomainName, child: DomainName, store: any DelegationStore, waitLimit: Duration = .seconds(20), _ body: @Sendable () async throws -> T
    ) async throws -> T {
        try await withLock(child) {
            let lock = try await Self.storeLock(zone: zone, child: child, store: store, waitLimit: waitLimit)
            defer { lock.release() }
            return try await body()
        }
    }

    static func storeLock(zone: DomainName, child: DomainName, store: any DelegationStore, waitLimit: Duration) async throws -> ChildStoreLock {
        let clock = ContinuousClock()
        let start = clock.now
        var pause = Duration.milliseconds(5)
        while true {
            if let lock = try store.tryLockChild(zone: zone, child: child) { return lock }
            guard clock.now - start < waitLimit else { throw Busy(child: child) }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(200))
        }
    }
}
