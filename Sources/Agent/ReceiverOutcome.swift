import DNSWire
import DelegationCore
import SIG0
import Transport

extension UpdateReceiver {
    /// What was decided, for the reply and the audit log.
    public struct Outcome: Sendable {
        public internal(set) var rcode: RCode
        /// The Extended DNS Error INFO-CODE (RFC 8914) that goes with a non-NOERROR rcode.
        public internal(set) var infoCode: UInt16?
        /// Why, in words an operator (and the child) can act on; the EDE EXTRA-TEXT.
        public internal(set) var reason: String
        public internal(set) var zone: DomainName?
        public internal(set) var signer: DomainName?
        public internal(set) var keyTag: UInt16?
        public internal(set) var backendResult: String?
        /// KEY-STATE to report when the request carried a KeyState option.
        public internal(set) var keyState: KeyStateOption.State? = nil
        /// The rule that decided a refusal (a policy rule or a SIG(0) check), for the metrics.
        public internal(set) var rule: String? = nil
        /// Answer with the header alone and TC=1 (an UPDATE over UDP).
        public internal(set) var truncated = false
        /// A signature was verified (with a trusted key, the uploaded key, or the key an inquiry
        /// asks about): the request gets an audit row of its own. Others are aggregated.
        public internal(set) var authenticated = false
        /// Records for the answer section (the answer to a status question).
        public internal(set) var answer: [Record] = []
        /// Whether the request is written to the audit log and counted; status questions, which
        /// monitoring asks often and which change nothing, are not.
        public internal(set) var audited = true
        /// No reply at all (a malformed NOTIFY, RFC 9859 §4.3); still audited and counted.
        public internal(set) var discarded = false

        static func reject(_ rcode: RCode, _ infoCode: UInt16, _ reason: String) -> Outcome {
            Outcome(rcode: rcode, infoCode: infoCode, reason: reason)
        }

        /// This outcome refused: `rcode` with `infoCode` and `reason`.
        func refused(_ rcode: RCode = .refused, _ infoCode: UInt16, _ reason: String, rule: String? = nil) -> Outcome {
            var outcome = self
            outcome.rcode = rcode
            outcome.infoCode = infoCode
            outcome.reason = reason
            outcome.rule = rule ?? outcome.rule
            return outcome
        }
    }

    /// A request checked, verified and decided: the parsed message (nil when it did not parse)
    /// and the outcome. Nothing is audited or answered yet.
    public struct Decision: Sendable {
        public let message: Message?
        public let outcome: Outcome
    }
}

/// What a stage of the receiver's pipeline hands on: the next stage's input, or the final
/// outcome (a refusal, or an answer that needs no further stage).
enum Stage<Next: Sendable>: Sendable {
    case next(Next)
    case done(UpdateReceiver.Outcome)
}

/// A signed UPDATE that passed the screen: the zone it names, the child that signed, the parsed
/// change and its one SIG(0).
struct SignedUpdate: Sendable {
    let zone: AgentConfiguration.Zone
    let child: DomainName
    let update: Update
    let signature: SIG0Signature
    /// The outcome so far (zone, signer, key tag filled in).
    let base: UpdateReceiver.Outcome
    let context: DNSRequestContext
    /// The source address when it is one of the zone's `forwarders` (a nameserver passing the
    /// child's UPDATE on, RFC 2136 §6); nil for a request sent directly.
    var forwarder: String? = nil
}
