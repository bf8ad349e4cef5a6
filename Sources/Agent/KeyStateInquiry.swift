import DNSWire
import DelegationCore
import SIG0
import Store
import Transport

/// A KeyState inquiry (draft-berra-dnsop-keystate §4): a QUERY for the child's name with the
/// option in state 2 and the key tag. The state of a key is the child's business: the full
/// answer — trusted (4), bootstrap ongoing (9), waiting for the operator (10), validation failed
/// (8), refused (7) — goes only to a requester that signs the inquiry with SIG(0) by the key
/// asked about, over TCP. Anyone else learns nothing about a job: "unknown" (5); over UDP the
/// answer is an empty reply with TC=1 (ask over TCP; a spoofed source gets nothing to reflect).
/// Unauthenticated inquiries spend the strangers' budgets.
struct KeyStateInquiry: Sendable {
    let configuration: AgentConfiguration
    let store: any DelegationStore
    let signatures: SignatureCheck
    let strangers: StrangerBudget
    /// Keys with the asked tag tried at most (newest unfinished jobs first).
    static let maximumCandidates = 8

    func answer(
        _ bytes: [UInt8], layout: MessageLayout, message: Message, inquiry: KeyStateOption, context: DNSRequestContext, now: Int64
    ) -> UpdateReceiver.Outcome {
        guard let question = message.question.first,
            let zone = configuration.zones.first(where: { question.name.isSubdomain(of: $0.name) && question.name != $0.name })
        else {
            return .reject(
                .notAuth, DelegationEDE.notAuthoritative, "no zone served here has \(message.question.first?.name.description ?? "that name") as a child")
        }
        let child = question.name
        var outcome = UpdateReceiver.Outcome(rcode: .refused, reason: "", zone: zone.name, signer: child, keyTag: inquiry.keyID)
        guard context.transport == .tcp else {
            outcome.rcode = .noError
            outcome.reason = "KeyState inquiries are answered over TCP only: TC=1"
            outcome.truncated = true
            return outcome
        }
        if let spent = strangers.spend(source: context.sourceAddress, now: now) {
            return outcome.refused(.refused, DelegationEDE.blocked, "too many KeyState inquiries: \(spent); try again later", rule: "inquiry-budget")
        }
        outcome.rcode = .noError
        guard let key = authenticatedKey(bytes, layout: layout, child: child, zone: zone.name, keyTag: inquiry.keyID, source: context.sourceAddress, now: now)
        else {
            outcome.keyState = .unknown
            outcome.reason = "sign the inquiry with SIG(0) by key \(inquiry.keyID) of \(child) to learn its state"
            return outcome
        }
        outcome.authenticated = true
        let job = ((try? store.bootstraps(child: child, activeOnly: false)) ?? []).last { $0.key == key.rdata }
        if key.state == .trusted {
            outcome.keyState = .trusted
            outcome.reason = "key \(inquiry.keyID) for \(child) is trusted"
        } else if let job {
            switch job.state {
            case .verifying: outcome.keyState = .bootstrapAutoOngoing
            case .awaitingConfirmation: outcome.keyState = .bootstrapManualRequired
            case .failed: outcome.keyState = .validationFailed
            case .rejected: outcome.keyState = .refused
            case .superseded, .trusted: outcome.keyState = key.state == .revoked ? .refused : .unknown
            }
            outcome.reason = job.explanation(now: now).split(separator: "\n").last.map(String.init) ?? ""
        } else {
            outcome.keyState = key.state == .revoked ? .refused : .unknown
            outcome.reason = "key \(inquiry.keyID) for \(child) is \(key.state.rawValue) here"
        }
        return outcome
    }

    /// The stored key with tag `keyTag` that signed the inquiry, if one did.
    func authenticatedKey(_ bytes: [UInt8], layout: MessageLayout, child: DomainName, zone: DomainName, keyTag: UInt16, source: String, now: Int64)
        -> StoredKey?
    {
        guard let signature = try? SIG0Signature(message: bytes, layout: layout), signature.sig.keyTag == keyTag, signature.sig.signerName == child,
            let keys = try? store.keys(zone: zone, child: child, keyTag: keyTag, algorithm: signature.sig.algorithm)
        else { return nil }
        for key in keys.prefix(Self.maximumCandidates) {
            let failure = signatures.failure(signature, rdata: key.rdata, signer: child, source: source, now: now)
            if failure == nil { return key }
            if failure?.rcode != .badSig { return nil }
        }
        return nil
    }
}
