import DNSWire

/// Several children's changes to one zone as one RFC 2136 UPDATE: the prerequisites of all of
/// them, then the updates of all of them, in order. RFC 2136 §3.2 checks every prerequisite
/// before §3.4 applies any update, and the message is applied whole or not at all (§3.4.1), so
/// merging is sound only for changes that share no owner name — then one change's updates
/// cannot make another's prerequisites true or false, and the result is the same as applying
/// them one after the other. ``batchSize(of:limits:)`` cuts the batch before a change that
/// shares a name with an earlier one.
public enum UpdateBatch {
    /// How large one merged UPDATE may grow.
    public struct Limits: Sendable {
        /// Changes in one message.
        public var changes: Int
        /// Octets of the changes' messages added up (names are compressed once merged, so the
        /// merged message is smaller); below the 65,535 of a TCP message (RFC 1035 §4.2.2) with
        /// room for the TSIG record.
        public var octets: Int
        public init(changes: Int = 500, octets: Int = 60_000) {
            self.changes = changes
            self.octets = octets
        }
    }

    /// How many of `pending`, from the first, go into one message: at least one, at most
    /// `limits`, none whose owner names meet an earlier one's.
    public static func batchSize(of pending: [Update], limits: Limits = Limits()) -> Int {
        var names: Set<DomainName> = []
        var octets = 0
        for (index, update) in pending.enumerated() {
            let owned = ownerNames(update)
            let size = (try? update.message(id: 0).wireFormat().count) ?? limits.octets
            if index > 0, index >= limits.changes || octets + size > limits.octets || !names.isDisjoint(with: owned) { return index }
            names.formUnion(owned)
            octets += size
        }
        return max(1, pending.count)
    }

    /// One UPDATE of the zone holding all of `updates` (which must all be for the same zone).
    public static func merged(_ updates: [Update]) -> Update {
        var merged = updates[0]
        for update in updates.dropFirst() {
            merged.prerequisites += update.prerequisites
            merged.operations += update.operations
        }
        return merged
    }

    /// Every owner name a change names, in its prerequisites and its updates (lower case, the
    /// way DNS compares names).
    static func ownerNames(_ update: Update) -> Set<DomainName> {
        Set(update.prerequisites.map(\.name) + update.operations.map(\.name))
    }
}

/// Group commit of changes to one primary: a change submitted while nothing is on its way goes
/// out at once; changes submitted while a message is on its way wait for it and then go out
/// together as one UPDATE (``UpdateBatch``). `submit` returns only when the primary confirmed
/// the message holding that change (NOERROR), and throws otherwise.
///
/// When a merged UPDATE fails — one change's prerequisite does not hold, the primary refuses one
/// change's content, the connection drops — the same changes are sent again one UPDATE each, so
/// each is confirmed or refused on its own: one child's failure neither loses nor wrongly
/// confirms the others. (A merged UPDATE that failed was applied wholly or not at all, RFC 2136
/// §3.4.1, and applying a change twice changes nothing, so sending it again is safe.)
public actor UpdateQueue {
    public typealias Send = @Sendable (Update) async throws -> Void

    struct Waiting {
        let update: Update
        let done: CheckedContinuation<Void, any Error>
    }

    let limits: UpdateBatch.Limits
    private var waiting: [Waiting] = []
    private var sending = false
    /// Messages sent, merged ones counted once: what the tests look at.
    public private(set) var messagesSent = 0
    /// Merged UPDATEs that failed and were sent again one change each.
    public private(set) var batchesSplit = 0

    public init(limits: UpdateBatch.Limits = UpdateBatch.Limits()) {
        self.limits = limits
    }

    /// Queues `update` and returns once the primary confirmed it; `send` sends one UPDATE and
    /// returns on NOERROR (every submitter to one queue passes the same kind of `send`).
    public func submit(_ update: Update, send: @escaping Send) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            waiting.append(Waiting(update: update, done: continuation))
            if !sending {
                sending = true
                Task { await self.drain(send) }
            }
        }
    }

    private func drain(_ send: @escaping Send) async {
        while !waiting.isEmpty {
            let count = UpdateBatch.batchSize(of: waiting.map(\.update), limits: limits)
            let batch = Array(waiting.prefix(count))
            waiting.removeFirst(count)
            await commit(batch, send: send)
        }
        sending = false
    }

    private func commit(_ batch: [Waiting], send: @escaping Send) async {
        if batch.count > 1 {
            messagesSent += 1
            do {
                try await send(UpdateBatch.merged(batch.map(\.update)))
                for waiting in batch { waiting.done.resume() }
                return
            } catch {
                batchesSplit += 1
            }
        }
        messagesSent += batch.count
        await withTaskGroup(of: Void.self) { group in
            for waiting in batch {
                group.addTask {
                    do {
                        try await send(waiting.update)
                        waiting.done.resume()
                    } catch {
                        waiting.done.resume(throwing: error)
                    }
                }
            }
        }
    }
}
