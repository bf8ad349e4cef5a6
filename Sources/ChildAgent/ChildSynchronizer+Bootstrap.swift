import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store

extension ChildSynchronizer {
    /// What `delegsync child bootstrap` reached.
    public enum BootstrapResult: Sendable, Equatable {
        /// The parent trusts the key.
        case trusted(keyTag: UInt16)
        /// Still under way when the wait ended; the text is the parent's last word.
        case pending(keyTag: UInt16, String)
    }

    /// Checks that every child server publishes the key, uploads it (self-signed, over TCP),
    /// then asks the parent with KeyState inquiries every `poll` until it is trusted, refused,
    /// or `timeout` has passed. When the DSYNC target does not answer KeyState inquiries (a
    /// nameserver that forwards UPDATEs answers queries itself) the result is `.pending`, saying
    /// so: `sync --wait` follows the bootstrap with the UPDATE itself.
    public func bootstrap(key: BINDKeyFile? = nil, timeout: Duration, poll: Duration = .seconds(5)) async throws -> BootstrapResult {
        let target = try await target()
        let key =
            try key
            ?? keyRing.keys(of: child.name).last.unwrapped(
                or: ChildAgentError(.configuration, "no key pair for \(child.name) in \(configuration.keyDirectory): run delegsync child keygen \(child.name)"))
        try await checkPublished(key)
        let reply = try await upload(key, target: target)
        guard reply.rcode == .noError else { throw ChildAgentError(.refused, "the parent refused the upload: \(reply)") }
        if reply.keyState?.state == .trusted { return .trusted(keyTag: key.keyTag) }
        switch try await follow(key, target: target, timeout: timeout, poll: poll) {
        case .trusted: return .trusted(keyTag: key.keyTag)
        case .pending(let text), .unanswered(let text): return .pending(keyTag: key.keyTag, text)
        }
    }

    /// Where following a bootstrap ended.
    enum Followed: Sendable, Equatable {
        case trusted
        /// Still under way when the wait ended; the parent's last word.
        case pending(String)
        /// The DSYNC target answers KeyState inquiries without KeyState, or without the
        /// receiver's signature: it is not the parent's agent but a nameserver that forwards
        /// UPDATEs to it (inquiries are queries, which it answers itself). Nothing is believed.
        case unanswered(String)
    }

    /// Every server of the child must serve the key at the apex (the parent checks exactly
    /// that, round after round); says which one does not.
    func checkPublished(_ key: BINDKeyFile) async throws {
        let apex = try await apex()
        guard apex.key.contains(where: { $0.rdata == key.keyData.rdata }) else {
            throw ChildAgentError(
                .configuration,
                "\(child.name) KEY \(key.keyTag) is not published at \(apex.servers.map(\.description).joined(separator: ", ")): run delegsync child publish-key \(child.name)"
            )
        }
        progress("KEY \(key.keyTag) is published at every server of \(child.name): \(apex.servers.map(\.description).joined(separator: ", "))")
    }

    /// KeyState inquiries until the parent has decided or the wait is over.
    func follow(_ key: BINDKeyFile, target: DSYNCTarget, timeout: Duration, poll: Duration) async throws -> Followed {
        let channel = try channel(target)
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while true {
            let now = UInt32(truncatingIfNeeded: clock())
            let inquiry = try ParentChannel.inquiry(child: child.name, key: key, now: now)
            let reply: ParentReply
            do {
                reply = try await channel.send(inquiry, now: now)
            } catch let error as ChildAgentError where error.code == .unauthenticated {
                return unanswered(target, "\(error)")
            }
            guard reply.keyState != nil else { return unanswered(target, "it answered \(reply.rcode) without a KeyState option") }
            let state = reply.keyState?.state
            let text = reply.keyState?.extraText ?? reply.error?.extraText ?? ""
            let line = "the parent: \(state.map { "\($0)" } ?? "\(reply.rcode)")\(text.isEmpty ? "" : ": \(text)")"
            // A new state is a line of its own; the same state with another countdown is not.
            let stable = text.replacingOccurrences(of: #" \(in \d+ s\)"#, with: "", options: .regularExpression)
            if stable != last { progress(line) } else { ticker(line) }
            last = stable
            switch state {
            case .trusted?:
                try remember(key, parent: target.parent, state: .trusted, origin: "bootstrap")
                return .trusted
            case .bootstrapAutoOngoing?, .bootstrapManualRequired?:
                break
            default:
                try? remember(key, parent: target.parent, state: .revoked, origin: "bootstrap")
                throw ChildAgentError(.notTrusted, "the parent will not trust key \(key.keyTag): \(reply)")
            }
            guard ContinuousClock.now + poll <= deadline else { return .pending(text) }
            try await Task.sleep(for: poll)
        }
    }

    func unanswered(_ target: DSYNCTarget, _ why: String) -> Followed {
        let text =
            "\(target.endpoints.map(\.description).joined(separator: ", ")) does not answer KeyState inquiries (\(why)): the DSYNC target is likely a nameserver that forwards UPDATEs to the parent's agent; the bootstrap goes on at the parent, and sync --wait follows it by sending the UPDATE itself"
        progress(text)
        return .unanswered(text)
    }
}

extension Optional {
    func unwrapped(or error: @autoclosure () -> some Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}
