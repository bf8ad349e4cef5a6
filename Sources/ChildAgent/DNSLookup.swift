import DNSWire
import Transport

/// How a query travels to its server.
public enum LookupTransport: Sendable, Hashable, CustomStringConvertible {
    /// UDP first; when the answer comes back truncated (TC=1), the same question again over TCP
    /// (RFC 1035 §4.2.1, RFC 7766 §5).
    case udpThenTCP
    /// TCP only (RFC 7766 §5): what the readers of authoritative data use, so that answers
    /// cannot be spoofed from off-path and are never truncated.
    case tcp

    public var description: String {
        switch self {
        case .udpThenTCP: "udp (tcp when truncated)"
        case .tcp: "tcp"
        }
    }
}

/// Sends one question to one server and returns its answer: the seam between the child agent's
/// logic (DSYNC discovery, reading apexes and delegations) and the network. ``DNSClientLookup``
/// is the real one; tests script a fake.
///
/// The answer comes back whatever its RCODE (RCODEs are data); only "no usable answer" throws.
public protocol DNSLookup: Sendable {
    /// Asks `server` for `name` `type` in class IN, with the RD bit as given (RFC 1035 §4.1.1:
    /// 1 towards a resolver, 0 towards an authoritative server). Throws ``DNSLookupError`` when
    /// the server does not answer, or answers something that is not a reply to this question.
    func query(_ name: DomainName, _ type: RRType, server: NameserverAddress, recursionDesired: Bool, transport: LookupTransport) async throws -> Message

    /// The same with DNSSEC asked for (RFC 4035 §3.2.1 DO bit; RFC 4035 §3.2.2 CD bit when the
    /// asker validates itself): RRSIGs, NSEC and NSEC3 come back, and a validating resolver
    /// sets AD on what it validated (RFC 4035 §3.2.3).
    func query(
        _ name: DomainName, _ type: RRType, server: NameserverAddress, recursionDesired: Bool, dnssec: DNSSECQuery, transport: LookupTransport
    ) async throws -> Message
}

/// The DNSSEC bits of a query.
public struct DNSSECQuery: Sendable, Hashable {
    /// The DO bit (RFC 3225): return RRSIG, NSEC and NSEC3 records.
    public var dnssecOK: Bool
    /// The CD bit (RFC 4035 §3.2.2): the resolver hands back what it has, validated or not.
    public var checkingDisabled: Bool

    public init(dnssecOK: Bool, checkingDisabled: Bool) {
        self.dnssecOK = dnssecOK
        self.checkingDisabled = checkingDisabled
    }

    /// Neither bit: a plain query.
    public static let none = DNSSECQuery(dnssecOK: false, checkingDisabled: false)
}

extension DNSLookup {
    /// A lookup that cannot ask for DNSSEC answers (a scripted one in tests) asks plainly; what
    /// it answers is validated all the same.
    public func query(
        _ name: DomainName, _ type: RRType, server: NameserverAddress, recursionDesired: Bool, dnssec: DNSSECQuery, transport: LookupTransport
    ) async throws -> Message {
        try await query(name, type, server: server, recursionDesired: recursionDesired, transport: transport)
    }
}

/// Why a lookup got no usable answer; the text names the server and the question.
public struct DNSLookupError: Error, Sendable, CustomStringConvertible {
    /// Callers switch on the code; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// Nothing came back: timeout, connection refused or reset.
        public static let noAnswer = Code(name: "no answer")
        /// Bytes came back that are not a DNS message.
        public static let malformed = Code(name: "malformed answer")
        /// A DNS message came back that does not answer the question asked (RFC 5452 §9.1).
        public static let mismatch = Code(name: "mismatched answer")
    }

    public let code: Code
    public let server: NameserverAddress
    /// The question asked, `name type`.
    public let question: String
    public let detail: String

    public init(_ code: Code, server: NameserverAddress, question: String, detail: String) {
        self.code = code
        self.server = server
        self.question = question
        self.detail = detail
    }

    /// Whether the server did not answer at all (as opposed to answering badly).
    public var isNoAnswer: Bool { code == .noAnswer }

    public var description: String {
        switch code {
        case .noAnswer: "\(server) did not answer \(question): \(detail)"
        default: "\(server) answered \(question) with a \(code): \(detail)"
        }
    }
}

/// ``DNSLookup`` over the network with Transport's ``DNSClient``: one query per exchange, a fresh
/// random ID each time, EDNS(0) with a 1232-octet payload (RFC 6891), the question echoed back
/// checked (RFC 5452 §9.1), and a truncated UDP answer repeated over TCP.
///
/// Limitations: no retries over UDP (one timeout is one failure; the caller decides); it
/// validates nothing itself (``ChainOfTrust`` does, for DSYNC discovery).
public struct DNSClientLookup: DNSLookup {
    public let client: DNSClient

    public init(client: DNSClient = DNSClient()) {
        self.client = client
    }

    public init(timeout: Duration) {
        self.init(client: DNSClient(timeout: timeout))
    }

    public func query(_ name: DomainName, _ type: RRType, server: NameserverAddress, recursionDesired: Bool, transport: LookupTransport) async throws -> Message
    {
        try await query(name, type, server: server, recursionDesired: recursionDesired, dnssec: .none, transport: transport)
    }

    public func query(
        _ name: DomainName, _ type: RRType, server: NameserverAddress, recursionDesired: Bool, dnssec: DNSSECQuery, transport: LookupTransport
    ) async throws -> Message {
        switch transport {
        case .tcp:
            return try await exchange(name, type, server: server, recursionDesired: recursionDesired, dnssec: dnssec, over: .tcp)
        case .udpThenTCP:
            let answer = try await exchange(name, type, server: server, recursionDesired: recursionDesired, dnssec: dnssec, over: .udp)
            guard answer.header.tc else { return answer }
            return try await exchange(name, type, server: server, recursionDesired: recursionDesired, dnssec: dnssec, over: .tcp)
        }
    }

    func exchange(
        _ name: DomainName, _ type: RRType, server: NameserverAddress, recursionDesired: Bool, dnssec: DNSSECQuery, over kind: DNSTransportKind
    ) async throws -> Message {
        let asked = "\(name) \(type)"
        var header = Header()
        header.id = UInt16.random(in: 0...UInt16.max)
        header.rd = recursionDesired
        header.cd = dnssec.checkingDisabled
        let query = Message(header: header, question: [Question(name: name, type: type)], edns: EDNS(dnssecOK: dnssec.dnssecOK))
        let bytes: [UInt8]
        do {
            bytes = try await client.exchange(try query.wireFormat(), host: server.host, port: server.port, transport: kind)
        } catch let error as DNSClientError {
            throw DNSLookupError(.noAnswer, server: server, question: asked, detail: "\(error.code) over \(kind): \(error.detail)")
        } catch {
            throw DNSLookupError(.noAnswer, server: server, question: asked, detail: "over \(kind): \(error)")
        }
        let answer: Message
        do {
            answer = try Message(wire: bytes)
        } catch {
            throw DNSLookupError(.malformed, server: server, question: asked, detail: "\(error)")
        }
        try Self.check(answer, answers: query, server: server)
        return answer
    }

    /// A reply carries the query's ID, QR=1, and the question asked (a server may leave the
    /// question out only when it reports an error, e.g. FORMERR to EDNS).
    static func check(_ answer: Message, answers query: Message, server: NameserverAddress) throws {
        let asked = query.question.first.map { "\($0.name) \($0.type)" } ?? "?"
        guard answer.id == query.id, answer.header.qr else {
            throw DNSLookupError(.mismatch, server: server, question: asked, detail: "ID or QR bit does not match the query")
        }
        if answer.question.isEmpty, answer.rcode != .noError { return }
        guard answer.question == query.question else {
            let echoed = answer.question.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
            throw DNSLookupError(.mismatch, server: server, question: asked, detail: "the reply is for [\(echoed)]")
        }
    }
}
