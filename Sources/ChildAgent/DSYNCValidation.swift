import DNSWire

/// How the child agent trusts DSYNC answers (configuration `dsync-validation`). RFC 9859 does
/// not require signed DSYNC records, but a signed parent's records can be checked: a forged
/// DSYNC can divert or suppress an UPDATE or NOTIFY (RFC 9859 §6), and a bogus one is refused.
public enum DSYNCValidation: Sendable, Hashable, CustomStringConvertible {
    /// Answers are taken as the resolver gives them. Default.
    case none
    /// The resolver validates: every DSYNC answer used (the positive one and the negative ones
    /// before it) must carry its AD bit (RFC 4035 §3.2.3, RFC 6840 §5.8). Trust in the resolver
    /// and the path to it is the operator's choice.
    case resolverAD
    /// The agent validates from the trust anchor itself (``ChainOfTrust``): secure answers and
    /// proven-unsigned (insecure) ones are used, bogus ones refused.
    case anchor(TrustAnchor)

    /// The configuration word: `none`, `resolver-ad` or `anchor`.
    public var description: String {
        switch self {
        case .none: "none"
        case .resolverAD: "resolver-ad"
        case .anchor: "anchor"
        }
    }

    /// The query bits: DO for both kinds of validation, CD when the agent validates itself.
    var query: DNSSECQuery {
        switch self {
        case .none: .none
        case .resolverAD: DNSSECQuery(dnssecOK: true, checkingDisabled: false)
        case .anchor: ChainOfTrust.flags
        }
    }
}
