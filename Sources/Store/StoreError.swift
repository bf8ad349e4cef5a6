/// A store operation that failed: what the store was doing, and why.
///
/// The code tells callers what kind of failure it was; new codes may be added without breaking
/// anyone who switches over the ones they care about.
public struct StoreError: Error, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case open, migrate, read, write, corrupt, notFound
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The database file could not be opened or created.
        public static let open = Code(.open)
        /// The schema could not be brought up to date.
        public static let migrate = Code(.migrate)
        /// A query failed.
        public static let read = Code(.read)
        /// A change could not be written.
        public static let write = Code(.write)
        /// A stored row does not decode (a name, state or operation that no longer parses).
        public static let corrupt = Code(.corrupt)
        /// The row an operation refers to does not exist.
        public static let notFound = Code(.notFound)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// What failed and why, in words for an operator.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
