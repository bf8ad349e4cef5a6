import DNSWire

extension DelegationSnapshot {
    /// Which records of a delegation a read covers: the NS RRset with its glue, the DS RRset,
    /// the KEY RRset. A check after a commit reads only the parts the change touched.
    public struct Parts: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The NS RRset at the child and the A/AAAA glue at or below it (RFC 1034 §4.2.1).
        public static let nameservers = Parts(rawValue: 1)
        /// The DS RRset at the child (RFC 4034 §5).
        public static let ds = Parts(rawValue: 2)
        /// KEY records at the child.
        public static let keys = Parts(rawValue: 4)
        public static let all: Parts = [.nameservers, .ds, .keys]

        /// The parts `operations` change: NS and address records the nameservers, DS the DS
        /// RRset, KEY the keys; deleting every RRset at a name (RFC 2136 §2.5.3) touches all.
        public init(touchedBy operations: [Update.Operation]) {
            var parts: Parts = []
            for operation in operations {
                switch operation.type {
                case .ns, .a, .aaaa: parts.insert(.nameservers)
                case .ds: parts.insert(.ds)
                case .key: parts.insert(.keys)
                case .any: parts = .all
                default: break
                }
            }
            self = parts
        }
    }

    /// The snapshot with only `parts` kept (the rest empty): what a read of those parts sees.
    public func restricted(to parts: Parts) -> DelegationSnapshot {
        DelegationSnapshot(
            child: child, nameservers: parts.contains(.nameservers) ? nameservers : [], ds: parts.contains(.ds) ? ds : [],
            keys: parts.contains(.keys) ? keys : [], glue: parts.contains(.nameservers) ? glue : [:])
    }
}
