import DNSWire

/// Why no UPDATE receiver was found for a child. The text says what was asked, what came back
/// and what the operator can do; ``steps`` holds the whole trail.
public struct DSYNCDiscoveryError: Error, Sendable, CustomStringConvertible {
    /// Callers switch on the code; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// The resolver did not answer (timeout, refused connection, garbage).
        public static let resolverUnreachable = Code(name: "resolver unreachable")
        /// The resolver answered with an error RCODE (SERVFAIL, REFUSED…).
        public static let resolverFailed = Code(name: "resolver failed")
        /// A negative answer named no zone above the child (no SOA, or an unrelated one).
        public static let noParent = Code(name: "parent zone unknown")
        /// Every name RFC 9859 §4.1 asks was negative.
        public static let notFound = Code(name: "no DSYNC record")
        /// A DSYNC RRset was found, but without a usable record of the wanted scheme and type.
        public static let noMatchingRecord = Code(name: "no matching DSYNC record")
        /// More than one record for the wanted (RRtype, scheme) (RFC 9859 §3 allows one).
        public static let ambiguous = Code(name: "ambiguous DSYNC records")
        /// The target has no A or AAAA record.
        public static let targetUnresolvable = Code(name: "target without address")
        /// A DSYNC answer failed DNSSEC validation from the trust anchor (`dsync-validation: anchor`).
        public static let bogus = Code(name: "bogus DSYNC answer")
        /// The resolver did not validate a DSYNC answer (no AD bit; `dsync-validation: resolver-ad`).
        public static let notValidated = Code(name: "DSYNC answer not validated")
        /// The child name cannot have a parent (the root) or a lookup name is too long.
        public static let badChild = Code(name: "bad child name")
    }

    public let code: Code
    /// The child discovery ran for (the parent, for a configured receiver).
    public let child: DomainName
    public let steps: [DiscoveryStep]
    /// What failed: "DSYNC discovery for child.parent.".
    let subject: String
    let text: String

    init(_ code: Code, child: DomainName, steps: [DiscoveryStep], subject: String? = nil, _ text: String) {
        self.code = code
        self.child = child
        self.steps = steps
        self.subject = subject ?? "DSYNC discovery for \(child)"
        self.text = text
    }

    public var description: String { "\(subject): \(text)" }
}
