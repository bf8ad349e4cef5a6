import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store

extension ChildSynchronizer {
    /// What `delegsync child sync` did.
    public enum SyncResult: Sendable {
        /// The parent already serves what the child's apex says.
        case inStep
        /// `--dry-run`: the UPDATE that would be sent, as nsupdate text.
        case dryRun(String)
        /// Sent; the parent applied it (NOERROR: committed and seen at its primary).
        case applied(ParentReply)
    }

    /// Reads both sides, sends the difference as one signed UPDATE over TCP, and reads the
    /// answer. No answer or SERVFAIL is retried (`attempts` in all, the wait doubling from
    /// `backoff`); BADKEY starts one new bootstrap of the key (and throws ``ChildAgentError``
    /// `.pending`); any other refusal throws `.refused` with the parent's reason.
    ///
    /// With `wait`, a key the parent does not trust yet (its bootstrap under way: REFUSED with
    /// the "known but not yet trusted" EDE, or BADKEY after a new upload) is followed with
    /// KeyState inquiries for up to that long, and the UPDATE is sent again once it is trusted.
    /// Where the DSYNC target does not answer KeyState inquiries (a nameserver forwarding
    /// UPDATEs), the UPDATE itself is sent again every `poll` instead: the parent refuses it
    /// without any signature check while the key is not trusted, and commits it once it is.
    public func sync(
        dryRun: Bool = false, attempts: Int = 4, backoff: Duration = .seconds(2), wait: Duration? = nil, poll: Duration = .seconds(5)
    ) async throws -> SyncResult {
        do {
            return try await syncOnce(dryRun: dryRun, attempts: attempts, backoff: backoff)
        } catch let error as ChildAgentError where wait != nil && (error.code == .pending || error.code == .notYetTrusted) {
            let target = try await target()
            let key = try signingKey(parent: target.parent)
            let wait = wait ?? .zero
            let deadline = ContinuousClock.now + wait
            progress("waiting up to \(wait) for the parent to trust key \(key.keyTag)")
            switch try await follow(key, target: target, timeout: wait, poll: poll) {
            case .trusted:
                return try await syncOnce(dryRun: dryRun, attempts: attempts, backoff: backoff)
            case .pending:
                throw ChildAgentError(.pending, "key \(key.keyTag) is still not trusted at the parent after \(wait); run sync again later")
            case .unanswered:
                while true {
                    do {
                        return try await syncOnce(dryRun: dryRun, attempts: attempts, backoff: backoff)
                    } catch let error as ChildAgentError where error.code == .notYetTrusted {
                        guard ContinuousClock.now + poll <= deadline else {
                            throw ChildAgentError(.pending, "key \(key.keyTag) is still not trusted at the parent after \(wait); run sync again later")
                        }
                        ticker("the parent: \(error)")
                        try await Task.sleep(for: poll)
                    }
                }
            }
        }
    }

    func syncOnce(dryRun: Bool, attempts: Int, backoff: Duration) async throws -> SyncResult {
        try await syncOnce(plan: try await plan(), dryRun: dryRun, attempts: attempts, backoff: backoff)
    }

    /// Sends what `plan` says as one signed UPDATE (see ``sync(dryRun:attempts:backoff:wait:poll:)``).
    func syncOnce(plan: Plan, dryRun: Bool, attempts: Int, backoff: Duration) async throws -> SyncResult {
        progress(
            "parent \(plan.target.parent) serves: NS \(plan.current.nameservers.map(\.description).sorted().joined(separator: " ")), \(plan.current.ds.count) DS"
        )
        guard !plan.diff.isEmpty else {
            progress("nothing to do: the parent's delegation matches the child's apex")
            return .inStep
        }
        if dryRun { return .dryRun(plan.nsupdateText) }
        let key = try signingKey(parent: plan.target.parent)
        let update = Update(zone: plan.target.parent, operations: plan.diff.operations)
        var wait = backoff
        var last = ""
        for attempt in 1...max(1, attempts) {
            do {
                let reply = try await exchange(update, key: key, target: plan.target, keyState: .inquiry)
                switch reply.rcode {
                case .noError:
                    try remember(key, parent: plan.target.parent, state: .trusted, origin: "sync")
                    return .applied(reply)
                case .servFail:
                    last = "the parent answered \(reply)"
                case .badKey,
                    .refused where reply.keyState?.state == .unknown:
                    // Through a forwarding nameserver BADKEY arrives as REFUSED; the KeyState the
                    // UPDATE asked for says the same.
                    progress("the parent does not trust key \(key.keyTag): bootstrapping it again")
                    try await upload(key, target: plan.target)
                    throw ChildAgentError(
                        .pending,
                        "the parent did not trust key \(key.keyTag) (\(reply)); its bootstrap started again: run delegsync child bootstrap to follow it")
                case .refused where reply.error?.infoCode == DelegationEDE.keyKnownNotTrusted:
                    throw ChildAgentError(.notYetTrusted, "the parent refused the change: \(reply)")
                default:
                    throw ChildAgentError(.refused, "the parent refused the change: \(reply)")
                }
            } catch let error as ChildAgentError where error.code == .unreachable {
                last = "\(error)"
            }
            if attempt < attempts {
                progress("attempt \(attempt) of \(attempts): \(last); retrying in \(wait)")
                try await Task.sleep(for: wait)
                wait *= 2
            }
        }
        throw ChildAgentError(.unreachable, "gave up after \(attempts) attempts: \(last)")
    }

    /// The self-signed upload of the DDNS draft: `delete CHILD ANY KEY`, `add CHILD KEY …`,
    /// signed by that key, asking for automatic bootstrap (KeyState 0).
    @discardableResult
    func upload(_ key: BINDKeyFile, target: DSYNCTarget) async throws -> ParentReply {
        var update = Update(zone: target.parent)
        update.deleteRRset(child.name, .key)
        update.add(Record(name: child.name, type: .key, ttl: child.ttl, rdata: key.keyData.rdata))
        let reply = try await exchange(update, key: key, target: target, keyState: .requestAutoBootstrap)
        if reply.rcode == .noError {
            try remember(key, parent: target.parent, state: reply.keyState?.state == .trusted ? .trusted : .known, origin: "upload")
        }
        return reply
    }
}
