import DNSWire

/// Verifies SIG(0)-signed messages (RFC 2931 §3) over the bytes as received.
///
/// The order is the CVE-2024-1975 lesson: structure, form, signer, time window, key tag and
/// algorithm are all checked before the one signature verification, against exactly one key
/// chosen by the caller.
///
/// Limitations: replay protection (remembering the last inception per key, refusing a signature
/// seen before) needs state and belongs to the receiver, not here. Multi-message TCP signing
/// (RFC 2931 §3.1, OPTIONAL) is not supported.
public struct SIG0Verifier: Sendable {
    /// Allowed clock difference on each side of the signature's bracket.
    public var allowedSkew: UInt32
    /// Longest bracket accepted (RFC 2931 §3.3: normally no more than 5 minutes each way).
    public var maximumValidity: UInt32
    /// Algorithms accepted.
    public var algorithms: Set<SIG0Algorithm>

    public init(allowedSkew: UInt32 = 300, maximumValidity: UInt32 = 3600, algorithms: Set<SIG0Algorithm> = Set(SIG0Algorithm.supported)) {
        self.allowedSkew = allowedSkew
        self.maximumValidity = maximumValidity
        self.algorithms = algorithms
    }

    /// The result of a successful verification.
    public struct Verified: Sendable, Equatable {
        /// The signer's name as it was sent (case preserved).
        public let signer: DomainName
        public let keyTag: UInt16
        public let algorithm: SIG0Algorithm
        public let inception: UInt32
        public let expiration: UInt32
    }

    /// Checks everything that needs no crypto: the signer (when `expectedSigner` is given), the
    /// time window at `now` (Unix seconds; `nil` skips the clock but not the bracket's sanity),
    /// the algorithm, and that `key` is the one the SIG names.
    public func precheck(_ signature: SIG0Signature, key: KEYData, expectedSigner: DomainName?, now: UInt32?) throws(SIG0Rejection) {
        let sig = signature.sig
        if let expectedSigner, sig.signerName != expectedSigner {
            throw SIG0Rejection(.signerMismatch, "signed by \(sig.signerName), expected \(expectedSigner)")
        }
        let span = sig.expiration &- sig.inception
        guard Self.serialLessOrEqual(sig.inception, sig.expiration), span <= maximumValidity else {
            throw SIG0Rejection(.windowAbsurd, "inception \(sig.inception) to expiration \(sig.expiration) is not a bracket of at most \(maximumValidity) s")
        }
        if let now {
            guard Self.serialLessOrEqual(sig.inception, now &+ allowedSkew) else {
                throw SIG0Rejection(.notYetValid, "inception \(sig.inception) is \(sig.inception &- now) s after now (\(now)), allowed skew \(allowedSkew) s")
            }
            guard Self.serialLessOrEqual(now &- allowedSkew, sig.expiration) else {
                throw SIG0Rejection(.expired, "expiration \(sig.expiration) was \(now &- sig.expiration) s before now (\(now)), allowed skew \(allowedSkew) s")
            }
        }
        let algorithm = SIG0Algorithm(sig.algorithm)
        guard algorithms.contains(algorithm) else {
            throw SIG0Rejection(.unsupportedAlgorithm, "algorithm \(sig.algorithm) is not accepted")
        }
        guard key.algorithm == sig.algorithm else {
            throw SIG0Rejection(.algorithmMismatch, "SIG algorithm \(sig.algorithm), key algorithm \(key.algorithm)")
        }
        guard key.keyTag == sig.keyTag else {
            throw SIG0Rejection(.keyTagMismatch, "SIG key tag \(sig.keyTag), key tag \(key.keyTag)")
        }
    }

    /// Verifies a request: ``precheck(_:key:expectedSigner:now:)`` then the signature.
    /// Pass `request` to verify a response, whose signature also covers the request that
    /// produced it (RFC 2535 §4.1.8.1).
    @discardableResult
    public func verify(_ signature: SIG0Signature, key: SIG0PublicKey, expectedSigner: DomainName? = nil, now: UInt32?, request: [UInt8]? = nil)
        throws(SIG0Rejection) -> Verified
    {
        try precheck(signature, key: key.keyData, expectedSigner: expectedSigner, now: now)
        let sig = signature.sig
        guard sig.signature.count == key.signatureSize else {
            throw SIG0Rejection(.signatureLength, "signature of \(sig.signature.count) octets, \(key.algorithm) with this key makes \(key.signatureSize)")
        }
        guard key.verify(sig.signature, over: signature.signedData(request: request)) else {
            throw SIG0Rejection(.badSignature, "the signature does not verify with key \(key.keyTag) of \(sig.signerName)")
        }
        return Verified(
            signer: sig.signerName, keyTag: sig.keyTag, algorithm: SIG0Algorithm(sig.algorithm), inception: sig.inception, expiration: sig.expiration)
    }

    /// Convenience: locate the SIG(0) in `message` and verify it.
    @discardableResult
    public func verify(message: [UInt8], key: SIG0PublicKey, expectedSigner: DomainName? = nil, now: UInt32?, request: [UInt8]? = nil) throws(SIG0Rejection)
        -> Verified
    {
        try verify(SIG0Signature(message: message), key: key, expectedSigner: expectedSigner, now: now, request: request)
    }

    /// RFC 1982 serial number arithmetic: `a <= b`.
    static func serialLessOrEqual(_ a: UInt32, _ b: UInt32) -> Bool {
        a == b || (b &- a) < 0x8000_0000
    }
}
