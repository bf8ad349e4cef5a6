import DNSWire

/// Why a message did not verify. Each check of ``SIG0Verifier`` has its own reason, so that a
/// receiver can answer with the right RCODE and Extended DNS Error, and tests can hit each one.
public struct SIG0Rejection: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, CaseIterable {
        /// The message is not well-formed DNS (truncated, bad pointer, trailing data…).
        case malformed
        /// No SIG record in the additional section.
        case noSignature
        /// More than one SIG(0) (RFC 2931 §3.1: one, at the end).
        case multipleSignatures
        /// A SIG(0) that is not the last additional record.
        case signatureNotLast
        /// A TSIG next to the SIG(0) (RFC 2931 §3: one or the other).
        case tsigAndSIG0
        /// SIG type covered is not 0: not a SIG(0) (RFC 2931 §3.1).
        case typeCoveredNotZero
        /// Owner not root, class not ANY, TTL, labels or original TTL not 0 (RFC 2931 §3.1).
        case badSIG0Fields
        /// The signer is not the name the caller expects.
        case signerMismatch
        /// Expiration before inception, or a bracket longer than allowed (RFC 2931 §3.3).
        case windowAbsurd
        /// Inception is in the future beyond the allowed skew.
        case notYetValid
        /// Expiration has passed beyond the allowed skew.
        case expired
        /// The SIG's algorithm is not one delegsync accepts.
        case unsupportedAlgorithm
        /// The SIG's algorithm is not the key's.
        case algorithmMismatch
        /// The SIG's key tag is not the key's.
        case keyTagMismatch
        /// The signature has the wrong length for the key.
        case signatureLength
        /// The cryptographic check failed.
        case badSignature
    }

    public let reason: Reason
    public let detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}
