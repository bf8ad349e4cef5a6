import DNSWire

/// NS targets and glue owners a child adds must be host names (RFC 952, as relaxed by RFC 1123
/// §2.1): every label 1–63 octets of ASCII letters, digits and hyphens, neither starting nor
/// ending with a hyphen. No underscore, no escaped octets, not the root.
///
/// DNS itself allows any octet in a label, but these names end up in the parent's zone file and
/// in `nsupdate` scripts, where a name like `a\(b.example.net.` is legal yet breaks readers that
/// do not handle every escape — one hostile child could then block every later change of the
/// parent's other children. A nameserver's name is a host name anyway (RFC 1034 §3.6.2 wants NS
/// targets to own address records; RFC 1123 §2.1 says what such names look like).
///
/// Only what a request adds is checked: deleting a record with an odd name is always allowed.
public struct HostNamePolicy: DelegationPolicy {
    public init() {}

    public var understoodTypes: Set<RRType> { [] }

    public func check(_ request: DelegationRequest) -> PolicyVerdict {
        for operation in request.operations {
            guard case .add(let record) = operation else { continue }
            switch record.type {
            case .ns:
                // An RDATA that is not a name is NSSetPolicy's to report.
                guard let target = try? DomainName.read(from: record.rdata, at: 0).name else { continue }
                if let problem = Self.problem(target) {
                    return .reject(
                        PolicyViolation(rule: "ns-not-hostname", "NS target \(target) of \(record.name) is not a host name: \(problem)"))
                }
            case .a, .aaaa:
                if let problem = Self.problem(record.name) {
                    return .reject(
                        PolicyViolation(rule: "glue-not-hostname", "glue owner \(record.name) (\(record.type)) is not a host name: \(problem)"))
                }
            default:
                continue
            }
        }
        return .accept
    }

    /// Why `name` is not a host name (RFC 1123 §2.1), or nil when it is one.
    public static func problem(_ name: DomainName) -> String? {
        if name.isRoot { return "the root is no host's name" }
        for label in name.labels {
            if let problem = problem(label: label) { return problem }
        }
        return nil
    }

    static func problem(label: ArraySlice<UInt8>) -> String? {
        // The label as text only for a refusal: this runs for every NS target and glue owner.
        var shown: Substring { (try? DomainName(labels: [Array(label)]))?.description.dropLast() ?? "?" }
        guard (1...DomainName.maxLabelLength).contains(label.count) else {
            return "label \"\(shown)\" has \(label.count) octets; a host name label has 1 to 63"
        }
        guard label.allSatisfy(isHostNameOctet) else {
            return
                "label \"\(shown)\" has octets other than ASCII letters, digits and hyphens (RFC 1123 §2.1); use the A-label (xn--) form of an internationalised name"
        }
        guard label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else {
            return "label \"\(shown)\" starts or ends with a hyphen (RFC 952, RFC 1123 §2.1)"
        }
        return nil
    }

    static func isHostNameOctet(_ octet: UInt8) -> Bool {
        switch octet {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
