import DNSWire

/// The NS set left behind must not be empty and must stay within the limit: a delegation with no
/// NS is no delegation.
public struct NSSetPolicy: DelegationPolicy {
    public var limits: DelegationLimits
    public init(limits: DelegationLimits = DelegationLimits()) { self.limits = limits }

    public var understoodTypes: Set<RRType> { Self.understood }
    static let understood: Set<RRType> = [.ns]

    public func check(_ request: DelegationRequest) -> PolicyVerdict {
        guard let result = request.result else {
            return .reject(PolicyViolation(rule: "malformed-ns", infoCode: DelegationEDE.invalidData, "an NS record's data is not a domain name"))
        }
        // RFC 1035 §3.3.11: an NS RDATA is one name and nothing else, in deletes too (the
        // parent's tools do not parse anything else).
        for operation in request.operations {
            switch operation {
            case .add(let record), .delete(let record):
                guard record.type == .ns, !Self.isOneName(record.rdata) else { continue }
                return .reject(
                    PolicyViolation(
                        rule: "malformed-ns", infoCode: DelegationEDE.invalidData,
                        "an NS record of \(record.name) has data that is not one name (RFC 1035 §3.3.11)"))
            default:
                continue
            }
        }
        if result.nameservers.isEmpty {
            return .reject(PolicyViolation(rule: "ns-empty", "the change would leave \(request.child) without NS records"))
        }
        if result.nameservers.count > limits.maxNameservers {
            return .reject(PolicyViolation(rule: "too-many-ns", "\(result.nameservers.count) NS records; at most \(limits.maxNameservers)"))
        }
        return .accept
    }

    static func isOneName(_ rdata: [UInt8]) -> Bool {
        (try? DomainName.read(from: rdata, at: 0).next) == rdata.count
    }
}

/// Glue (A/AAAA below the child) only for names the resulting NS set uses, and every
/// in-bailiwick nameserver keeps at least one address — otherwise the delegation is lame.
/// Deleting glue is always allowed, as long as that last condition holds and the record to
/// delete is a well-formed address.
public struct GluePolicy: DelegationPolicy {
    public init() {}

    public var understoodTypes: Set<RRType> { Self.understood }
    static let understood: Set<RRType> = [.a, .aaaa]

    public func check(_ request: DelegationRequest) -> PolicyVerdict {
        guard let result = request.result else {
            return .reject(PolicyViolation(rule: "malformed-ns", infoCode: DelegationEDE.invalidData, "an NS record's data is not a domain name"))
        }
        let used = result.inBailiwickNameservers
        for operation in request.operations {
            if case .add(let record) = operation, record.type == .a || record.type == .aaaa, !used.contains(record.name) {
                return .reject(PolicyViolation(rule: "glue-unused", "\(record.name) gets \(record.type) glue but no NS record of \(request.child) uses it"))
            }
            // Deletes too: the parent's tools do not even parse an address of the wrong size.
            if case .add(let record) = operation, let problem = Self.malformed(record) { return .reject(problem) }
            if case .delete(let record) = operation, let problem = Self.malformed(record) { return .reject(problem) }
        }
        for name in used.sorted() where (result.glue[name] ?? []).isEmpty {
            return .reject(PolicyViolation(rule: "glue-missing", "NS \(name) is inside \(request.child) and would have no A or AAAA glue"))
        }
        return .accept
    }

    /// An A (4 octets) or AAAA (16 octets, RFC 3596 §2.2) record of another size.
    static func malformed(_ record: Record) -> PolicyViolation? {
        let size = record.type == .a ? 4 : (record.type == .aaaa ? 16 : nil)
        guard let size, record.rdata.count != size else { return nil }
        return PolicyViolation(
            rule: "glue-malformed", infoCode: DelegationEDE.invalidData, "\(record.name) \(record.type) RDATA of \(record.rdata.count) octets")
    }
}
