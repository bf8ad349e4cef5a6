import DNSWire

/// A key trusted for child C changes only C's delegation (DESIGN.md, trust rules): NS, DS and KEY
/// at C itself, A/AAAA at or below C. Names are compared label by label, so `ample.example.` is
/// never inside `example.example.`; the parent apex and other children are out of reach.
public struct ChildScopePolicy: DelegationPolicy {
    public init() {}

    public var understoodTypes: Set<RRType> { Self.understood }
    static let understood: Set<RRType> = [.ns, .ds, .key, .a, .aaaa]

    static let apexTypes: Set<RRType> = [.ns, .ds, .key]

    public func check(_ request: DelegationRequest) -> PolicyVerdict {
        let child = request.child
        guard child.isSubdomain(of: request.zone), child != request.zone else {
            return .reject(PolicyViolation(rule: "not-a-child", "\(child) is not a child of \(request.zone)"))
        }
        for operation in request.operations {
            let name = operation.name
            let type = operation.type
            if name == request.zone {
                return .reject(PolicyViolation(rule: "parent-apex", "\(operation): the parent apex \(request.zone) is not the child's to change"))
            }
            if !name.isSubdomain(of: child) {
                if type == .a || type == .aaaa {
                    return .reject(PolicyViolation(rule: "glue-out-of-bailiwick", "\(operation): the parent keeps glue only at or below \(child)"))
                }
                return .reject(PolicyViolation(rule: "outside-child", "\(operation): \(name) is not at or below \(child)"))
            }
            switch operation {
            case .deleteName(let name):
                if name == child {
                    return .reject(
                        PolicyViolation(
                            rule: "delete-child-apex", "deleting every RRset at \(child) would remove the delegation; delete NS, DS or KEY RRsets one by one"))
                }
            default:
                if Self.apexTypes.contains(type), name != child {
                    return .reject(PolicyViolation(rule: "apex-only", "\(operation): \(type) belongs at \(child) only"))
                }
                if !Self.understood.contains(type) {
                    return .reject(PolicyViolation(rule: "type-not-allowed", "\(operation): a child may change NS, DS, KEY and glue A/AAAA only"))
                }
            }
        }
        return .accept
    }
}

/// Prerequisites (RFC 2136 §3.2) may only ask about names at or below the child: a child must
/// not probe the rest of the parent zone.
public struct PrerequisiteScopePolicy: DelegationPolicy {
    public init() {}

    public var understoodTypes: Set<RRType> { [] }

    public func check(_ request: DelegationRequest) -> PolicyVerdict {
        for prerequisite in request.prerequisites where !prerequisite.name.isSubdomain(of: request.child) {
            return .reject(
                PolicyViolation(rule: "prerequisite-outside-child", "a prerequisite names \(prerequisite.name), which is not at or below \(request.child)"))
        }
        return .accept
    }
}
