import DNSWire

/// What one address of one nameserver of a delegation answered to the scanner, asked directly
/// (RD=0, over TCP, the DO bit set): the questions at the child apex, A/AAAA at the names of
/// in-bailiwick nameservers, and the SOA asked once more at the end (RFC 7477 §3.1).
public struct ScanObservation: Sendable, Hashable {
    /// One question: a name and a type.
    public struct Query: Sendable, Hashable, CustomStringConvertible {
        public var name: DomainName
        public var type: RRType

        public init(_ name: DomainName, _ type: RRType) {
            self.name = name
            self.type = type
        }

        public var description: String { "\(name) \(type)" }
    }

    public var nameserver: DomainName
    /// The address asked; nil when none is known (``failure`` says why).
    public var address: String?
    /// Answers by question; the records are the answer section's at the name asked (with RRSIGs).
    public var answers: [Query: ChildServerObservation.Answer]
    /// The SOA asked after every other question.
    public var closingSOA: ChildServerObservation.Answer?
    /// Why the server could not be asked, or stopped answering.
    public var failure: String?

    public init(
        nameserver: DomainName, address: String?, answers: [Query: ChildServerObservation.Answer] = [:], closingSOA: ChildServerObservation.Answer? = nil,
        failure: String? = nil
    ) {
        self.nameserver = nameserver
        self.address = address
        self.answers = answers
        self.closingSOA = closingSOA
        self.failure = failure
    }

    /// `ns1.child.parent. at 192.0.2.1`, or the name alone when no address is known.
    public var server: String { address.map { "\(nameserver) at \($0)" } ?? "\(nameserver)" }

    /// The RDATAs of `type` at `name` in the answer (none when not asked or not answered).
    public func rdatas(_ name: DomainName, _ type: RRType) -> Set<[UInt8]> {
        Set(answers[Query(name, type)]?.records.filter { $0.name == name && $0.type == type }.map(\.rdata) ?? [])
    }

    /// The RRset of `type` at `name` with its RRSIGs, or nil when the answer has none.
    public func signed(_ name: DomainName, _ type: RRType) -> SignedRRset? {
        answers[Query(name, type)].flatMap { SignedRRset($0.records, name: name, type: type) }
    }
}

/// What the parent's agent found at one RFC 9615 signaling name (`_dsboot.<child>._signal.<ns>`),
/// looked up through a resolver: the CDS and CDNSKEY there with their RRSIGs, and the chain of
/// DNSKEY and DS RRsets from the configured trust anchor's zone down to the signaling zone.
public struct SignalingObservation: Sendable, Hashable {
    public var nameserver: DomainName
    public var name: DomainName
    /// CDS and CDNSKEY answers (records with RRSIGs); a type missing here got no answer.
    public var answers: [RRType: ChildServerObservation.Answer]
    /// The anchor's zone first, then each zone down to the one that signs ``name``.
    public var chain: [DNSSECValidator.ChainLink]
    public var failure: String?

    public init(
        nameserver: DomainName, name: DomainName, answers: [RRType: ChildServerObservation.Answer] = [:], chain: [DNSSECValidator.ChainLink] = [],
        failure: String? = nil
    ) {
        self.nameserver = nameserver
        self.name = name
        self.answers = answers
        self.chain = chain
        self.failure = failure
    }

    /// The RDATAs of `type` at the signaling name.
    public func rdatas(_ type: RRType) -> Set<[UInt8]> {
        Set(answers[type]?.records.filter { $0.name == name && $0.type == type }.map(\.rdata) ?? [])
    }
}
