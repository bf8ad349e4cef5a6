import DNSWire

/// One query made while looking for the parent's UPDATE receiver, and what came back: the
/// trail `delegsync child status` prints so an operator can see which names were asked
/// (RFC 9859 §4.1) and why discovery ended where it did.
public struct DiscoveryStep: Sendable, Hashable, CustomStringConvertible {
    /// What the server said.
    public enum Outcome: Sendable, Hashable {
        /// Records of the asked type (at the name or at the end of a CNAME chain).
        case records([Record])
        /// NXDOMAIN, or NOERROR without records of the type (NODATA, RFC 2308 §2.2); `zone` is
        /// the owner of the SOA in the authority section, when there was one.
        case negative(RCode, zone: DomainName?)
        /// Any other RCODE (SERVFAIL, REFUSED…).
        case failed(RCode)
        /// No usable answer (timeout, refused connection, malformed or mismatched reply).
        case noAnswer(String)
    }

    public var name: DomainName
    public var type: RRType
    public var server: NameserverAddress
    public var outcome: Outcome

    public init(name: DomainName, type: RRType, server: NameserverAddress, outcome: Outcome) {
        self.name = name
        self.type = type
        self.server = server
        self.outcome = outcome
    }

    /// `child._dsync.parent. DSYNC: ANY UPDATE 5302 updater.parent.`, `… DSYNC: NXDOMAIN (zone parent.)`.
    public var description: String {
        let head = "\(name) \(type)"
        switch outcome {
        case .records(let records):
            return "\(head): "
                + records.map { record in record.name == name ? record.rdataPresentation : "\(record.name) \(record.rdataPresentation)" }
                .joined(separator: "; ")
        case .negative(let rcode, let zone):
            let kind = rcode == .noError ? "NODATA" : rcode.description
            return "\(head): \(kind)" + (zone.map { " (zone \($0))" } ?? " (no SOA)")
        case .failed(let rcode):
            return "\(head): \(rcode) from \(server)"
        case .noAnswer(let detail):
            return "\(head): no answer from \(server): \(detail)"
        }
    }
}
