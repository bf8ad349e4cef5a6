import DNSWire

/// Applies a change to the parent zone through what its nameserver supports (DESIGN.md layer 7).
///
/// `apply` returns only when the change is committed at the parent's primary; it throws a
/// ``BackendError`` otherwise. Applying the same update twice must change nothing the second
/// time (the outbox retries).
public protocol DelegationBackend: Sendable {
    /// A short description for logs and the audit trail, e.g. "rfc2136 to 127.0.0.1:53 key tsig-key".
    var description: String { get }
    func apply(_ update: Update) async throws
}

/// Why a backend could not apply a change: the text says what the primary or the tool answered.
public struct BackendError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// The primary refuses the content itself (a retry of the same change cannot succeed); the
    /// outbox gives such a change up at once instead of retrying it.
    public let permanent: Bool
    public init(_ description: String, permanent: Bool = false) {
        self.description = description
        self.permanent = permanent
    }
}
