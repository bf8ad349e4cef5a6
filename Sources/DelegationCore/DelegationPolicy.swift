import DNSWire

/// What a child asks for: a verified UPDATE from the key trusted for `child`, seen against the
/// parent's current data. Built by the receiver after the SIG(0) check; the policy never does I/O.
public struct DelegationRequest: Sendable {
    /// The parent zone of the UPDATE's zone section.
    public let zone: DomainName
    /// The child the signing key is trusted for (the SIG(0) signer, RFC 3007 §2 principal).
    public let child: DomainName
    public let prerequisites: [Update.Prerequisite]
    public let operations: [Update.Operation]
    /// The delegation as the parent holds it now.
    public let current: DelegationSnapshot

    /// The delegation the operations would leave behind (`nil` when an NS RDATA is not a name);
    /// computed once, shared by every policy and by the caller.
    public let result: DelegationSnapshot?

    public init(zone: DomainName, child: DomainName, prerequisites: [Update.Prerequisite] = [], operations: [Update.Operation], current: DelegationSnapshot) {
        self.zone = zone
        self.child = child
        self.prerequisites = prerequisites
        self.operations = operations
        self.current = current
        self.result = try? current.applying(operations)
    }
}

extension DelegationRequest {
    /// The changes as the parent will apply them: added records get the parent's TTL for
    /// delegation data, whatever the child sent.
    public func operations(ttl: UInt32) -> [Update.Operation] {
        operations.map { operation in
            guard case .add(var record) = operation else { return operation }
            record.ttl = ttl
            return .add(record)
        }
    }
}

/// Why a request was refused: the rule's name, the Extended DNS Error to send (RFC 8914) and a
/// text that tells the child operator what to change.
public struct PolicyViolation: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable name for the rule, used in logs, the audit trail and tests.
    public let rule: String
    public let infoCode: UInt16
    public let text: String

    public init(rule: String, infoCode: UInt16 = DelegationEDE.prohibited, _ text: String) {
        self.rule = rule
        self.infoCode = infoCode
        self.text = text
    }

    public var description: String { "\(rule): \(text)" }

    public var extendedError: ExtendedDNSError { ExtendedDNSError(infoCode: infoCode, extraText: "\(rule): \(text)") }
}

/// One policy's answer (swift-certificates style: accept, or reject with a reason).
public enum PolicyVerdict: Sendable, Hashable {
    case accept
    case reject(PolicyViolation)
}

/// A rule about delegation UPDATEs. Policies compose in a ``DelegationPolicyEngine``; each one
/// names the RR types it understands, and the engine refuses any change of a type no policy
/// understands (fail closed).
public protocol DelegationPolicy: Sendable {
    /// RR types whose changes this policy knows how to judge.
    var understoodTypes: Set<RRType> { get }
    func check(_ request: DelegationRequest) -> PolicyVerdict
}

/// Runs policies in order; the first rejection wins. A request is accepted only when every
/// change is of a type some policy understands and no policy rejects it.
public struct DelegationPolicyEngine: Sendable {
    public var policies: [any DelegationPolicy] {
        didSet { understood = Self.understood(by: policies) }
    }
    /// The union of the policies' types, computed once.
    private var understood: Set<RRType>

    public init(policies: [any DelegationPolicy]) {
        self.policies = policies
        self.understood = Self.understood(by: policies)
    }

    static func understood(by policies: [any DelegationPolicy]) -> Set<RRType> {
        policies.reduce(into: Set<RRType>()) { $0.formUnion($1.understoodTypes) }
    }

    /// The standard rule set of DESIGN.md's trust rules, with the given limits.
    public static func standard(limits: DelegationLimits = DelegationLimits()) -> DelegationPolicyEngine {
        DelegationPolicyEngine(policies: [
            LimitsPolicy(limits: limits),
            ChildScopePolicy(),
            PrerequisiteScopePolicy(),
            HostNamePolicy(),
            NSSetPolicy(limits: limits),
            GluePolicy(),
            DSPolicy(limits: limits),
            KEYPolicy(),
        ])
    }

    public func evaluate(_ request: DelegationRequest) -> PolicyVerdict {
        for operation in request.operations {
            let types: [RRType] = operation.type == .any ? [] : [operation.type]
            for type in types where !understood.contains(type) {
                return .reject(
                    PolicyViolation(rule: "type-not-allowed", "no policy allows changing \(type) records; a child may change NS, DS, KEY and glue A/AAAA only"))
            }
        }
        for policy in policies {
            if case .reject(let violation) = policy.check(request) { return .reject(violation) }
        }
        return .accept
    }
}
