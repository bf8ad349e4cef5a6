import DNSWire

/// What the child agent remembers of the last time it told a parent about a change of one
/// child's delegation (`delegsync child watch`), for `delegsync child status`: the scheme it
/// used (RFC 9859 §3: UPDATE, NOTIFY or both), when, what the parent answered, and when the
/// parent's delegation was last seen to match the child's apex.
public struct ChildSchemeState: Sendable, Hashable {
    public var child: DomainName
    /// `update`, `notify` or `both`.
    public var scheme: String
    /// Unix seconds of the last change sent.
    public var sentAt: Int64
    /// The UPDATE's outcome in words ("NOERROR", "REFUSED (EDE 18: …)", "no answer: …"); nil
    /// when no UPDATE was sent.
    public var update: String?
    /// Each NOTIFY's answer, one per line ("CDS: NOERROR"); nil when none was sent.
    public var notify: String?
    /// What the child zone lacked for the NOTIFY scheme, one per line; empty when nothing.
    public var warnings: String
    /// Unix seconds when a later read found the parent's delegation equal to the child's apex;
    /// nil while that was not seen since ``sentAt``.
    public var inStepAt: Int64?

    public init(
        child: DomainName, scheme: String, sentAt: Int64, update: String? = nil, notify: String? = nil, warnings: String = "", inStepAt: Int64? = nil
    ) {
        self.child = child
        self.scheme = scheme
        self.sentAt = sentAt
        self.update = update
        self.notify = notify
        self.warnings = warnings
        self.inStepAt = inStepAt
    }
}

/// Persistence of ``ChildSchemeState``: one row per child, replaced by each change sent. Only the
/// child agent keeps it (``ChildAgentStore``); a parent's store need not.
public protocol ChildSchemeStateStore: Sendable {
    func childSchemeState(child: DomainName) throws -> ChildSchemeState?
    /// Stores the state, replacing the stored one of the same child.
    func putChildSchemeState(_ state: ChildSchemeState) throws
}

/// The child agent's store: its keys and their state at the parent, the log of what it sent,
/// and the last scheme per child (``SQLiteStore`` is one).
public typealias ChildAgentStore = DelegationStore & ChildSchemeStateStore
