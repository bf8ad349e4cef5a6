import DNSWire

/// Size limits on one delegation UPDATE. No child legitimately sends large ones (DDNS draft,
/// Security Considerations); the defaults leave room for 13 NS with dual-stack glue and DS sets.
public struct DelegationLimits: Sendable, Hashable {
    /// Changes in the update section. Default: 64.
    public var maxOperations: Int
    /// Records in the prerequisite section. Default: 16.
    public var maxPrerequisites: Int
    /// NS records in the resulting set. Default: 13.
    public var maxNameservers: Int
    /// DS records in the resulting set. Default: 8.
    public var maxDS: Int

    public init(maxOperations: Int = 64, maxPrerequisites: Int = 16, maxNameservers: Int = 13, maxDS: Int = 8) {
        self.maxOperations = maxOperations
        self.maxPrerequisites = maxPrerequisites
        self.maxNameservers = maxNameservers
        self.maxDS = maxDS
    }
}

/// Refuses requests larger than ``DelegationLimits`` before anything else looks at them.
public struct LimitsPolicy: DelegationPolicy {
    public var limits: DelegationLimits
    public init(limits: DelegationLimits) { self.limits = limits }

    public var understoodTypes: Set<RRType> { [] }

    public func check(_ request: DelegationRequest) -> PolicyVerdict {
        if request.operations.isEmpty {
            return .reject(PolicyViolation(rule: "no-changes", "the update section is empty"))
        }
        if request.operations.count > limits.maxOperations {
            return .reject(PolicyViolation(rule: "too-many-changes", "\(request.operations.count) changes in one UPDATE; at most \(limits.maxOperations)"))
        }
        if request.prerequisites.count > limits.maxPrerequisites {
            return .reject(PolicyViolation(rule: "too-many-prerequisites", "\(request.prerequisites.count) prerequisites; at most \(limits.maxPrerequisites)"))
        }
        return .accept
    }
}
