import DNSWire
import DelegationCore
import NIOConcurrencyHelpers
import SIG0
import Store

/// The second stage for a delegation UPDATE: the signer's key is one the trust store holds as
/// trusted for this child, the signature verifies with it (RFC 2931 §3; time window first), and
/// it is neither replayed nor over the child's budget (RFC 2931 §3.3; DDNS draft, Security
/// Considerations) — all decided per key identity, durably.
///
/// Keys are looked up by (zone, child, tag, algorithm) and then told apart by RDATA: a tag
/// collision (RFC 4034 Appendix B; an attacker's upload with a chosen tag) leaves the trusted
/// key as it is. Only trusted keys are tried, so a stranger's request never costs more than the
/// few verifications the child's own trusted keys allow, and never spends their budget: only a
/// verified request reaches ``DelegationStore/admit(_:now:)``, through the group commit
/// (``GroupCommit``): the verdict is durable before the request goes on.
final class SignerAuthentication: Sendable {
    let configuration: AgentConfiguration
    let store: any DelegationStore
    let signatures: SignatureCheck
    let commits: GroupCommit
    /// At most this many trusted keys with one tag are tried (a child's own keys collide with
    /// probability 1/65536 per pair).
    static let maximumCandidates = 4

    init(configuration: AgentConfiguration, store: any DelegationStore, signatures: SignatureCheck, commits: GroupCommit) {
        self.configuration = configuration
        self.store = store
        self.commits = commits
        self.signatures = signatures
    }

    /// Trust-store lookups, remembered for one second: a revocation with `delegsync keys revoke`
    /// takes effect within a second, and a burst of UPDATEs does not query SQLite each time.
    private let lookups = NIOLockedValueBox<[Lookup: (keys: [StoredKey], at: Int64)]>([:])

    private struct Lookup: Hashable {
        let zone: DomainName
        let child: DomainName
        let keyTag: UInt16
        let algorithm: UInt8
    }

    /// Forget cached lookups (after the trust store changed).
    func forget() { lookups.withLockedValue { $0.removeAll() } }

    func candidates(zone: DomainName, child: DomainName, keyTag: UInt16, algorithm: UInt8, now: Int64) throws -> [StoredKey] {
        let lookup = Lookup(zone: zone, child: child, keyTag: keyTag, algorithm: algorithm)
        if let hit = lookups.withLockedValue({ $0[lookup] }), hit.at == now { return hit.keys }
        let keys = try store.keys(zone: zone, child: child, keyTag: keyTag, algorithm: algorithm)
        lookups.withLockedValue { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[lookup] = (keys, now)
        }
        return keys
    }

    /// The key identity that signed `request`, admitted; or the refusal.
    func authenticate(_ request: SignedUpdate, now: Int64) async -> Stage<KeyIdentity> {
        let sig = request.signature.sig
        let (zone, child) = (request.zone, request.child)
        let outcome = request.base
        let keys: [StoredKey]
        do {
            keys = try candidates(zone: zone.name, child: child, keyTag: sig.keyTag, algorithm: sig.algorithm, now: now)
        } catch {
            return .done(outcome.refused(.servFail, DelegationEDE.other, "the trust store failed: \(error)"))
        }
        let trusted = keys.filter { $0.state == .trusted }.prefix(Self.maximumCandidates)
        guard !trusted.isEmpty else {
            if keys.contains(where: { $0.state == .known }) {
                var pending = outcome.refused(
                    .refused, DelegationEDE.keyKnownNotTrusted,
                    "key \(sig.keyTag) for \(child) is known but not yet trusted (bootstrap methods offered: \(zone.bootstrap.offered))")
                pending.keyState = .bootstrapAutoOngoing
                return .done(pending)
            }
            // KeyState "unknown" (to a request that asked) says BADKEY again, for a child that
            // gets this as REFUSED through a forwarding nameserver.
            var unknown = outcome.refused(
                .badKey, DelegationEDE.prohibited,
                "no trusted key \(sig.keyTag) (algorithm \(sig.algorithm)) for \(child); bootstrap the key first (bootstrap methods offered: \(zone.bootstrap.offered))"
            )
            unknown.keyState = .unknown
            return .done(unknown)
        }
        var failure: SignatureCheck.Failure? = nil
        var signer: KeyIdentity? = nil
        for key in trusted {
            failure = signatures.failure(request.signature, rdata: key.rdata, signer: child, source: request.context.sourceAddress, now: now)
            if failure == nil {
                signer = key.identity
                break
            }
            // A time-window refusal or a spent budget is the same for every candidate.
            if failure?.rcode != .badSig { break }
        }
        guard let signer else {
            let failure = failure!.throughForwarder(request.forwarder)
            return .done(outcome.refused(failure.rcode, failure.infoCode, failure.text, rule: failure.rule))
        }
        let admission = Admission(
            key: signer, inception: sig.inception, signatureDigest: SHA256.digest(sig.signature),
            expiresAt: Int64(sig.expiration) + Int64(configuration.signature.allowedSkew),
            budget: .init(name: "update \(zone.name.lowercased) \(child.lowercased)", perHour: configuration.limits.updatesPerChildPerHour))
        let verdict: Admission.Verdict
        do {
            verdict = try await commits.admit(admission, now: now)
        } catch {
            return .done(outcome.refused(.servFail, DelegationEDE.other, "the replay state could not be checked: \(error)"))
        }
        switch verdict {
        case .older(let last):
            return .done(
                outcome.refused(
                    .refused, DelegationEDE.prohibited, "signature inception \(sig.inception) is older than the last accepted (\(last)): replayed or reordered"))
        case .replayed:
            return .done(outcome.refused(.refused, DelegationEDE.prohibited, "this signature was seen before: replayed"))
        case .rateLimited:
            return .done(
                outcome.refused(
                    .refused, DelegationEDE.blocked, "more than \(configuration.limits.updatesPerChildPerHour) UPDATEs from \(child) in the last hour"))
        case .admitted:
            return .next(signer)
        }
    }
}
