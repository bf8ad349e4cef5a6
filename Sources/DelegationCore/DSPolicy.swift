import DNSWire
import SIG0

/// DS records must be well-formed (RFC 4034 §5.1) with a digest type the parent accepts:
/// SHA-256 (2) or SHA-384 (4). SHA-1 (1) must not be created any more (RFC 8624 §3.3).
/// A DS to delete must be well-formed too (a SHA-1 one may go): the parent's tools refuse to
/// even parse a digest of the wrong length, so such a delete could never be committed.
/// Whether the DS matches the child's DNSKEYs is checked against the child's servers by ``ContentCheck``.
public struct DSPolicy: DelegationPolicy {
    public var limits: DelegationLimits
    public init(limits: DelegationLimits = DelegationLimits()) { self.limits = limits }

    public var understoodTypes: Set<RRType> { Self.understood }
    static let understood: Set<RRType> = [.ds]

    static let digestLengths: [UInt8: Int] = [2: 32, 4: 48]
    /// Digest lengths of the types in use (RFC 3658, RFC 4509, RFC 6605), for deletes.
    static let knownDigestLengths: [UInt8: Int] = [1: 20, 2: 32, 4: 48]

    public func check(_ request: DelegationRequest) -> PolicyVerdict {
        for operation in request.operations {
            guard case .delete(let record) = operation, record.type == .ds else { continue }
            let rdata = record.rdata
            guard rdata.count >= 5, Self.knownDigestLengths[rdata[3]].map({ rdata.count == 4 + $0 }) ?? true else {
                return .reject(
                    PolicyViolation(
                        rule: "ds-malformed", infoCode: DelegationEDE.invalidData,
                        "the DS to delete has \(rdata.count) octets of RDATA, which no DS of digest type \(rdata.count > 3 ? String(rdata[3]) : "?") has"))
            }
        }
        for operation in request.operations {
            guard case .add(let record) = operation, record.type == .ds else { continue }
            let rdata = record.rdata
            guard rdata.count >= 5 else {
                return .reject(PolicyViolation(rule: "ds-malformed", infoCode: DelegationEDE.invalidData, "DS RDATA of \(rdata.count) octets"))
            }
            guard rdata[2] != 0 else {
                return .reject(PolicyViolation(rule: "ds-malformed", infoCode: DelegationEDE.invalidData, "DS with algorithm 0"))
            }
            guard let length = Self.digestLengths[rdata[3]] else {
                return .reject(PolicyViolation(rule: "ds-digest-type", "DS digest type \(rdata[3]) is not accepted; use 2 (SHA-256) or 4 (SHA-384)"))
            }
            guard rdata.count == 4 + length else {
                return .reject(
                    PolicyViolation(
                        rule: "ds-malformed", infoCode: DelegationEDE.invalidData,
                        "DS digest of \(rdata.count - 4) octets, digest type \(rdata[3]) has \(length)"))
            }
        }
        if let result = request.result, result.ds.count > limits.maxDS {
            return .reject(PolicyViolation(rule: "too-many-ds", "\(result.ds.count) DS records; at most \(limits.maxDS)"))
        }
        return .accept
    }
}

/// KEY records at the child apex (key rollover, RFC 3445 §3 layout) must be usable SIG(0) keys:
/// protocol 3, an algorithm delegsync verifies, a key that OpenSSL accepts.
public struct KEYPolicy: DelegationPolicy {
    public init() {}

    public var understoodTypes: Set<RRType> { Self.understood }
    static let understood: Set<RRType> = [.key]

    public func check(_ request: DelegationRequest) -> PolicyVerdict {
        for operation in request.operations {
            guard case .add(let record) = operation, record.type == .key else { continue }
            do {
                _ = try SIG0PublicKey(KEYData(rdata: record.rdata))
            } catch {
                return .reject(PolicyViolation(rule: "key-unusable", "KEY for \(record.name): \(error)"))
            }
        }
        return .accept
    }
}
