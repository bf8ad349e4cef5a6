/// Where each part of a received DNS message lies in its bytes.
///
/// SIG(0) is verified over the octets as received (RFC 2931 §3.1), so the verifier needs the exact
/// offset at which the last additional record starts; re-encoding a parsed message would change
/// compression and break the signature. The scan is also the first, cheap structural check of
/// hostile input: every count, name, pointer and RDLENGTH is bounds-checked before anything else
/// (ldns included) looks at the data.
public struct MessageLayout: Sendable, Equatable {
    /// The section a record stands in (RFC 1035 §4.1; RFC 2136 §2 names them zone, prerequisite,
    /// update, additional).
    public enum Section: Int, Sendable, CaseIterable {
        case question = 0, answer, authority, additional
    }

    /// One record's place in the message.
    public struct Span: Sendable, Equatable {
        public let section: Section
        /// First octet of the owner name.
        public let start: Int
        /// First octet of RDATA (for a question: the end).
        public let rdataStart: Int
        /// One past the last octet.
        public let end: Int
        public let owner: DomainName
        public let type: RRType
        public let rrClass: RRClass
    }

    /// Header section counts (RFC 1035 §4.1.1): QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT.
    public let counts: [Int]
    /// Every question and record in order of appearance.
    public let spans: [Span]
    /// The size of the message.
    public let length: Int

    /// The records of one section.
    public func spans(in section: Section) -> [Span] { spans.filter { $0.section == section } }

    /// Smallest possible message: the 12-octet header (RFC 1035 §4.1.1).
    public static let headerLength = 12

    /// Scans `bytes`; throws on truncation, bad names or pointers, RDLENGTH beyond the data, and
    /// trailing octets after the last record the header counts.
    public init(scanning bytes: [UInt8]) throws {
        guard bytes.count >= Self.headerLength else {
            throw DNSWireError(.truncated, "\(bytes.count) octets is shorter than a DNS header")
        }
        var reader = WireReader(bytes, at: 4)
        var counts: [Int] = []
        for _ in 0..<4 { counts.append(Int(try reader.u16())) }
        // Each question takes at least 5 octets and each record 11: refuse counts the data cannot hold
        // before looping over them.
        let minimum = counts[0] * 5 + (counts[1] + counts[2] + counts[3]) * 11
        guard minimum <= bytes.count - Self.headerLength else {
            throw DNSWireError(.truncated, "header counts \(counts) need at least \(minimum) octets, \(bytes.count - Self.headerLength) present")
        }
        var spans: [Span] = []
        spans.reserveCapacity(counts.reduce(0, +))
        for section in Section.allCases {
            for _ in 0..<counts[section.rawValue] {
                let start = reader.position
                let owner = try reader.name()
                let type = RRType(try reader.u16())
                let rrClass = RRClass(try reader.u16())
                if section == .question {
                    spans.append(
                        Span(section: section, start: start, rdataStart: reader.position, end: reader.position, owner: owner, type: type, rrClass: rrClass))
                    continue
                }
                _ = try reader.u32()
                let rdlength = Int(try reader.u16())
                let rdataStart = reader.position
                guard rdlength <= reader.remaining else {
                    throw DNSWireError(.truncated, "RDLENGTH \(rdlength) at offset \(rdataStart - 2) runs past the end of the message")
                }
                reader.position += rdlength
                spans.append(Span(section: section, start: start, rdataStart: rdataStart, end: reader.position, owner: owner, type: type, rrClass: rrClass))
            }
        }
        guard reader.remaining == 0 else {
            throw DNSWireError(.trailingData, "\(reader.remaining) octets after the last record")
        }
        self.counts = counts
        self.spans = spans
        self.length = bytes.count
    }
}
