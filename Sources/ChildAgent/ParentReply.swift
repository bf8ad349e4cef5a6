import DNSWire

/// The parent's answer to an UPDATE or a KeyState inquiry, reduced to what the child acts on:
/// the RCODE, the Extended DNS Error (RFC 8914), the KeyState (draft-berra-dnsop-keystate) and
/// whether the receiver's SIG(0) over it verified (the DDNS draft's mutual authentication).
public struct ParentReply: Sendable, Hashable, CustomStringConvertible {
    public var rcode: RCode
    public var error: ExtendedDNSError?
    public var keyState: KeyStateOption?
    /// True when the reply was signed by the receiver's configured key and verified; false when
    /// no receiver key is configured (nothing was checked).
    public var authenticated: Bool
    /// Where the answer came from.
    public var server: NameserverAddress

    public init(rcode: RCode, error: ExtendedDNSError?, keyState: KeyStateOption?, authenticated: Bool, server: NameserverAddress) {
        self.rcode = rcode
        self.error = error
        self.keyState = keyState
        self.authenticated = authenticated
        self.server = server
    }

    /// One line in plain words: "NOERROR", "REFUSED (Prohibited: glue … is out of bailiwick)".
    public var description: String {
        var text = "\(rcode)"
        if let error { text += " (EDE \(error.infoCode)" + (error.extraText.isEmpty ? ")" : ": \(error.extraText))") }
        if let keyState { text += ", key state \(keyState.state)" }
        return text
    }
}
