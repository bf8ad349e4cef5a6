import DNSWire

/// Why data could not be read from a zone's authoritative servers: every problem found, each
/// naming the server and the question, so the operator knows which server to fix.
public struct ZoneReadError: Error, Sendable, CustomStringConvertible {
    /// One server's problem with one question (or a name without addresses).
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// Callers switch on the code; new codes may be added.
        public struct Code: Hashable, Sendable, CustomStringConvertible {
            let name: String
            public var description: String { name }
            /// The server did not answer (timeout, refused connection, malformed reply).
            public static let unreachable = Code(name: "unreachable")
            /// The server answered without AA: it does not serve the zone (RFC 1035 §4.1.1).
            public static let notAuthoritative = Code(name: "not authoritative")
            /// The server answered with an error RCODE.
            public static let failed = Code(name: "error answer")
            /// The server's data differs from what most servers (or the first) serve.
            public static let differs = Code(name: "differs")
            /// An NS name has no address, so its server cannot be asked.
            public static let noAddress = Code(name: "no address")
            /// The zone's NS set could not be read, or it is empty.
            public static let noNameservers = Code(name: "no nameservers")
            /// Data that cannot be what it claims (an NS RDATA that is not a name).
            public static let invalid = Code(name: "invalid data")
        }

        public let code: Code
        /// The server concerned, when there is one.
        public let server: AuthoritativeServer?
        /// The question concerned (`child.parent. DNSKEY`), when there is one.
        public let question: Question?
        /// For ``Code/differs``: the server whose data the others were compared with.
        public let reference: AuthoritativeServer?
        /// For ``Code/differs``: records the reference serves and this server does not.
        public let missing: [Record]
        /// For ``Code/differs``: records this server serves and the reference does not.
        public let extra: [Record]
        let text: String

        init(
            _ code: Code, server: AuthoritativeServer?, question: Question?, _ text: String, reference: AuthoritativeServer? = nil, missing: [Record] = [],
            extra: [Record] = []
        ) {
            self.code = code
            self.server = server
            self.question = question
            self.reference = reference
            self.missing = missing
            self.extra = extra
            self.text = text
        }

        public var description: String { text }
    }

    /// The zone read (the child, or the parent for a delegation).
    public let zone: DomainName
    /// What was read, for the message: "the apex of child.parent.".
    public let what: String
    public let problems: [Problem]

    init(zone: DomainName, what: String, problems: [Problem]) {
        self.zone = zone
        self.what = what
        self.problems = problems
    }

    /// The servers named by the problems, in order, without repeats.
    public var servers: [AuthoritativeServer] {
        var seen: Set<AuthoritativeServer> = []
        return problems.compactMap(\.server).filter { seen.insert($0).inserted }
    }

    public var description: String {
        "cannot read \(what): " + problems.map(\.description).joined(separator: "; ")
    }
}

extension Question {
    /// `child.parent. DNSKEY`, for messages.
    var text: String { "\(name) \(type)" }
}
