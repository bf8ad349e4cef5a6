import DNSWire
import NIOConcurrencyHelpers
import SIG0

/// One SIG(0) check against one key (RFC 2931 §3; the time window first, then the signature),
/// timed for the metrics; shared by every stage that verifies. Parsed public keys are kept by
/// KEY RDATA: building an OpenSSL key per request costs more than the lookup, and a key never
/// changes under the same RDATA.
final class SignatureCheck: Sendable {
    let verifier: SIG0Verifier
    let metrics: AgentMetrics
    private let parsedKeys = NIOLockedValueBox<[[UInt8]: SIG0PublicKey]>([:])

    init(verifier: SIG0Verifier, metrics: AgentMetrics) {
        self.verifier = verifier
        self.metrics = metrics
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
    }

    /// Verifies `signature` with the key whose RDATA is `rdata`; nil when it verifies.
    func failure(_ signature: SIG0Signature, rdata: [UInt8], signer: DomainName, now: Int64) -> Failure? {
        let key: SIG0PublicKey
        do {
            key = try publicKey(rdata)
        } catch {
            return Failure(rcode: .badKey, rule: "unusable-key", text: "the key \(KEYData.keyTag(rdata: rdata)) for \(signer) is unusable: \(error)")
        }
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
