/// Extended DNS Error codes delegsync sends (RFC 8914 §4; private-use range 49152–65535 for the
/// three the DDNS draft asks for, which IANA has not assigned yet). One table, here.
public enum DelegationEDE {
    /// RFC 8914 §4.1: 0 Other Error.
    public static let other: UInt16 = 0
    /// RFC 8914 §4.16: 15 Blocked (used for rate limits, as RFC 9859 does).
    public static let blocked: UInt16 = 15
    /// RFC 8914 §4.19: 18 Prohibited (a policy rule refused the change).
    public static let prohibited: UInt16 = 18
    /// RFC 8914 §4.21: 20 Not Authoritative (a zone this agent does not serve).
    public static let notAuthoritative: UInt16 = 20
    /// RFC 8914 §4.22: 21 Not Supported.
    public static let notSupported: UInt16 = 21
    /// RFC 8914 §4.23: 22 No Reachable Authority (the parent's primary did not answer).
    public static let noReachableAuthority: UInt16 = 22
    /// RFC 8914 §4.24: 23 Network Error (the backend failed; the change will be retried).
    public static let networkError: UInt16 = 23
    /// RFC 8914 §4.25: 24 Invalid Data (malformed request).
    public static let invalidData: UInt16 = 24
    /// DDNS draft: key known but not yet trusted; waiting may help.
    public static let keyKnownNotTrusted: UInt16 = 49152
    /// DDNS draft: key known but validation failed; waiting will not help.
    public static let keyValidationFailed: UInt16 = 49153
    /// DDNS draft: automatic bootstrap not supported, manual bootstrap required.
    public static let manualBootstrapRequired: UInt16 = 49154
}
