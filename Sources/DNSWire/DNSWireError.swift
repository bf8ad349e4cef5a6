/// An error from parsing or encoding DNS data: what was wrong, where, and a text a person can act on.
///
/// Callers switch on ``code``; new codes may be added without breaking them (see STYLE.md).
public struct DNSWireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// A label is empty where it must not be (`a..b`).
        public static let emptyLabel = Code(name: "empty label")
        /// A label is longer than 63 octets (RFC 1035 §2.3.4).
        public static let labelTooLong = Code(name: "label too long")
        /// A name is longer than 255 octets in wire form (RFC 1035 §2.3.4).
        public static let nameTooLong = Code(name: "name too long")
        /// A backslash escape is malformed (RFC 1035 §5.1).
        public static let badEscape = Code(name: "bad escape")
        /// The wire data ended before the structure did.
        public static let truncated = Code(name: "truncated")
        /// A compression pointer is invalid (forward, looping or out of range).
        public static let badPointer = Code(name: "bad compression pointer")
        /// A label type other than a plain label or a pointer (RFC 6891 §5 deprecates the rest).
        public static let badLabelType = Code(name: "bad label type")
        /// Bytes remain after the last record the header counts.
        public static let trailingData = Code(name: "trailing data")
        /// Text that is not valid presentation format.
        public static let badPresentation = Code(name: "bad presentation format")
        /// RDATA that does not fit its type.
        public static let badRdata = Code(name: "bad rdata")
        /// ldns rejected the data.
        public static let ldns = Code(name: "ldns")
        /// A message too large or otherwise impossible to encode.
        public static let encoding = Code(name: "encoding")
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}
