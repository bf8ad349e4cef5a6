import Dispatch
import NIOConcurrencyHelpers
import Store

/// Group commit for the receive path: the replay state, budgets and audit rows of requests that
/// arrive together are written in one store transaction (``DelegationStore/commit(_:)``), and
/// each request's reply waits until the transaction holding its writes is durable. Nothing that
/// was acknowledged lives only in memory, yet a burst of N requests pays one transaction, not N.
///
/// A request hands its write over and suspends; the first one finding no writer at work starts
/// one, as a task queued behind the requests that are ready to run, so that they hand their
/// writes over first. The writer takes whatever is pending (up to ``maximumBatch``), runs the
/// transaction on the group commit's own serial queue (the store blocks; the cooperative
/// threads keep verifying signatures meanwhile, and those requests make up the next batch),
/// answers every waiter of the batch, and goes on until nothing is pending. The queue is its
/// own, not a shared thread pool: blocking work elsewhere (a subprocess, file I/O) never holds
/// up an acknowledgement. Writes are applied in the order they were handed over, so of two
/// requests with the same signature in one batch the second is a replay (RFC 2931 §3.3). A
/// batch whose transaction fails fails every request in it: none is acknowledged.
final class GroupCommit: Sendable {
    let store: any DelegationStore
    /// At most this many writes share a transaction (one transaction's time stays short).
    let maximumBatch: Int
    /// Where the transactions run, one at a time.
    private let queue = DispatchQueue(label: "delegsync.group-commit")

    private struct Waiting {
        let write: StoreWrite
        let continuation: CheckedContinuation<StoreWriteResult, any Error>
    }

    private struct State {
        var pending: [Waiting] = []
        /// A writer is running (it will take what is pending before it stops).
        var writing = false
    }

    private let state = NIOLockedValueBox(State())

    init(store: any DelegationStore, maximumBatch: Int = 256) {
        self.store = store
        self.maximumBatch = max(1, maximumBatch)
    }

    /// ``DelegationStore/admit(_:now:)``, durable when it returns.
    func admit(_ admission: Admission, now: Int64) async throws -> Admission.Verdict {
        guard case .verdict(let verdict) = try await submit(.admit(admission, now: now)) else { throw Self.mismatch }
        return verdict
    }

    /// ``DelegationStore/appendAudit(_:)``, durable when it returns.
    func appendAudit(_ entry: AuditEntry) async throws -> Int64 {
        guard case .audit(let id) = try await submit(.appendAudit(entry)) else { throw Self.mismatch }
        return id
    }

    /// Writes handed over and not yet taken by a writer, and whether a writer is at work (for
    /// tests: a writer at work with nothing pending has taken every write handed over so far).
    var progress: (pending: Int, writing: Bool) { state.withLockedValue { ($0.pending.count, $0.writing) } }

    func submit(_ write: StoreWrite) async throws -> StoreWriteResult {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLockedValue { state -> Bool in
                state.pending.append(Waiting(write: write, continuation: continuation))
                guard !state.writing else { return false }
                state.writing = true
                return true
            }
            guard start else { return }
            // A task of its own, queued behind the requests that are ready to run: they reach
            // this point (and join the batch) before it takes the batch.
            Task { await self.drain() }
        }
    }

    /// The writer: batches until nothing is pending. The transaction runs on the serial queue
    /// (the store blocks); requests go on meanwhile and make up the next batch.
    private func drain() async {
        while let batch = take() {
            do {
                let writes = batch.map(\.write)
                let results = try await transaction(writes)
                guard results.count == batch.count else { throw Self.mismatch }
                for (waiting, result) in zip(batch, results) { waiting.continuation.resume(returning: result) }
            } catch {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
            }
        }
    }

    /// `writes` committed in one store transaction on the serial queue.
    private func transaction(_ writes: [StoreWrite]) async throws -> [StoreWriteResult] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [store] in continuation.resume(with: Result { try store.commit(writes) }) }
        }
    }

    /// The next batch, or nil (and the writer stops) when nothing is pending.
    private func take() -> [Waiting]? {
        state.withLockedValue { state in
            guard !state.pending.isEmpty else {
                state.writing = false
                return nil
            }
            let batch = Array(state.pending.prefix(maximumBatch))
            state.pending.removeFirst(batch.count)
            return batch
        }
    }

    private static let mismatch = StoreError(.write, "the store answered a group commit with results that do not match its writes")
}
