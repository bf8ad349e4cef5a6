import DNSWire
import DelegationCore
import NIOConcurrencyHelpers
import SIG0

/// One SIG(0) check against one key (RFC 2931 §3; the time window first, then the signature),
/// timed for the metrics; shared by every stage that verifies. Parsed public keys are kept by
/// KEY RDATA: building an OpenSSL key per request costs more than the lookup, and a key never
/// changes under the same RDATA.
///
/// The crypto is bounded before it runs (CVE-2024-1975): each source address and prefix has a
/// budget of verifications a second, and only so many run at once; beyond either the request
/// is refused without a verification.
final class SignatureCheck: Sendable {
    let verifier: SIG0Verifier
    let metrics: AgentMetrics
    private let parsedKeys = NIOLockedValueBox<[[UInt8]: SIG0PublicKey]>([:])
    /// Verifications per source address and prefix, per second.
    private let budget: StrangerBudget
    private let maximumInFlight: Int
    private let inFlight = NIOLockedValueBox(0)

    init(verifier: SIG0Verifier, metrics: AgentMetrics, perSourcePerSecond: Int = 50, maximumInFlight: Int = 8) {
        self.verifier = verifier
        self.metrics = metrics
        self.budget = StrangerBudget(
            .init(perSource: perSourcePerSecond, perPrefix: perSourcePerSecond * 3, total: perSourcePerSecond * 1000, interval: 1))
        self.maximumInFlight = maximumInFlight
    }

    func publicKey(_ rdata: [UInt8]) throws -> SIG0PublicKey {
        if let key = parsedKeys.withLockedValue({ $0[rdata] }) { return key }
        let key = try SIG0PublicKey(KEYData(rdata: rdata))
        parsedKeys.withLockedValue { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[rdata] = key
        }
        return key
    }

    /// Why a signature was not accepted: the RCODE, the rule for the metrics, and the text.
    struct Failure: Error, Sendable {
        let rcode: RCode
        let rule: String
        let text: String
        /// The Extended DNS Error INFO-CODE (RFC 8914) to send.
        var infoCode: UInt16 = DelegationEDE.prohibited

        /// The rule of a bad signature on a forwarded request.
        static let forwarderRule = "forwarder-rewrote-message"

        /// This failure for a request a listed forwarder passed on. A signature that does not
        /// verify there is most likely the forwarder's doing: SIG(0) covers the header, message
        /// ID included (RFC 2931 §3.1), and Knot DNS gives a forwarded UPDATE a new ID (BIND
        /// keeps it). The original ID is not in the message, so the request cannot be repaired:
        /// it is refused with a text that says what happened and what to do.
        func throughForwarder(_ forwarder: String?) -> Failure {
            guard let forwarder, rcode == .badSig else { return self }
            return Failure(
                rcode: .refused, rule: Self.forwarderRule,
                text:
                    "the SIG(0) does not verify over the UPDATE as \(forwarder) forwarded it: a nameserver that gives a forwarded UPDATE a new message ID (Knot DNS does) breaks the signature, which covers the header (RFC 2931 §3.1); send it to the parent's agent directly (the parent's operator should point DSYNC at delegsync, see delegsync's docs/parent.md)"
            )
        }
    }

    /// Verifies `signature` with the key whose RDATA is `rdata` for a request from `source`
    /// (an address); nil when it verifies.
    func failure(_ signature: SIG0Signature, rdata: [UInt8], signer: DomainName, source: String, now: Int64) -> Failure? {
        let key: SIG0PublicKey
        do {
            key = try publicKey(rdata)
        } catch {
            return Failure(rcode: .badKey, rule: "unusable-key", text: "the key \(KEYData.keyTag(rdata: rdata)) for \(signer) is unusable: \(error)")
        }
        if let spent = budget.spend(source: source, now: now) {
            return Failure(rcode: .refused, rule: "verification-budget", text: "too many signature checks: \(spent)", infoCode: DelegationEDE.blocked)
        }
        let admitted = inFlight.withLockedValue { count -> Bool in
            guard count < maximumInFlight else { return false }
            count += 1
            return true
        }
        guard admitted else {
            return Failure(
                rcode: .servFail, rule: "verifications-busy", text: "\(maximumInFlight) signature checks are running; try again", infoCode: DelegationEDE.blocked)
        }
        defer { inFlight.withLockedValue { $0 -= 1 } }
        let start = ContinuousClock.now
        do {
            try verifier.verify(signature, key: key, expectedSigner: signer, now: UInt32(truncatingIfNeeded: now))
        } catch {
            metrics.verification(ok: false, seconds: Self.seconds(since: start))
            return Failure(rcode: Self.rcode(for: error), rule: error.reason.rawValue, text: "\(error.reason.rawValue): \(error.detail)")
        }
        metrics.verification(ok: true, seconds: Self.seconds(since: start))
        return nil
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// The RCODE for a signature that does not verify (RFC 2845 §4.5 codes, as SIG(0) uses them):
    /// BADTIME for the time window, BADSIG for the signature, BADKEY for the key.
    static func rcode(for rejection: SIG0Rejection) -> RCode {
        switch rejection.reason {
        case .notYetValid, .expired, .windowAbsurd: .badTime
        case .badSignature, .signatureLength: .badSig
        default: .badKey
        }
    }
}
