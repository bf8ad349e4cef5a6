/// An RFC 2136 UPDATE: the zone, prerequisites (§2.4) and changes (§2.5), built with methods
/// named after the RFC's sections and read back from a received message as ``Operation``s.
public struct Update: Sendable, Hashable {
    /// One change of the update section, classified by RFC 2136 §2.5.
    public enum Operation: Sendable, Hashable, CustomStringConvertible {
        /// §2.5.1 Add to an RRset: CLASS is the zone's, TTL and RDATA as given.
        case add(Record)
        /// §2.5.2 Delete an RRset: CLASS ANY, TTL 0, RDLENGTH 0.
        case deleteRRset(DomainName, RRType)
        /// §2.5.3 Delete all RRsets from a name: CLASS ANY, TYPE ANY, TTL 0, RDLENGTH 0.
        case deleteName(DomainName)
        /// §2.5.4 Delete an RR from an RRset: CLASS NONE, TTL 0.
        case delete(Record)

        /// The owner the change touches.
        public var name: DomainName {
            switch self {
            case .add(let r), .delete(let r): r.name
            case .deleteRRset(let n, _), .deleteName(let n): n
            }
        }

        /// The type it touches; ANY for ``deleteName``.
        public var type: RRType {
            switch self {
            case .add(let r), .delete(let r): r.type
            case .deleteRRset(_, let t): t
            case .deleteName: .any
            }
        }

        public var description: String {
            switch self {
            case .add(let r): "add \(r)"
            case .deleteRRset(let n, let t): "delete \(n) \(t)"
            case .deleteName(let n): "delete \(n) (all RRsets)"
            case .delete(let r): "delete \(r.name) \(r.type) \(r.rdataPresentation)"
            }
        }

        /// The record that carries this change in an update section.
        func record(zoneClass: RRClass) -> Record {
            switch self {
            case .add(var r):
                r.rrClass = zoneClass
                return r
            case .deleteRRset(let n, let t): return Record(name: n, type: t, rrClass: .any, ttl: 0, rdata: [])
            case .deleteName(let n): return Record(name: n, type: .any, rrClass: .any, ttl: 0, rdata: [])
            case .delete(var r):
                r.rrClass = .none
                r.ttl = 0
                return r
            }
        }

        /// Classifies an update-section record (RFC 2136 §3.4.1.3 checks). Throws with the reason
        /// a server would answer FORMERR for.
        public init(record: Record, zoneClass: RRClass = .in) throws {
            switch record.rrClass {
            case zoneClass:
                guard ![.any, .axfr, .ixfr, .opt, .tsig].contains(record.type) else {
                    throw DNSWireError(.badRdata, "cannot add a record of type \(record.type) (RFC 2136 §3.4.1.3)")
                }
                self = .add(record)
            case .any:
                guard record.ttl == 0, record.rdata.isEmpty else {
                    throw DNSWireError(.badRdata, "a CLASS ANY delete needs TTL 0 and no RDATA (RFC 2136 §2.5.2)")
                }
                self = record.type == .any ? .deleteName(record.name) : .deleteRRset(record.name, record.type)
            case .none:
                guard record.ttl == 0, record.type != .any else {
                    throw DNSWireError(.badRdata, "a CLASS NONE delete needs TTL 0 and a real type (RFC 2136 §2.5.4)")
                }
                var r = record
                r.rrClass = zoneClass
                self = .delete(r)
            default:
                throw DNSWireError(.badRdata, "update record of class \(record.rrClass) (RFC 2136 §3.4.1.3)")
            }
        }
    }

    /// A prerequisite, classified by RFC 2136 §2.4.
    public enum Prerequisite: Sendable, Hashable {
        /// §2.4.1 RRset exists (value independent).
        case rrsetExists(DomainName, RRType)
        /// §2.4.2 RRset exists (value dependent): the records, all of one RRset.
        case rrsetEquals(Record)
        /// §2.4.3 RRset does not exist.
        case rrsetDoesNotExist(DomainName, RRType)
        /// §2.4.4 Name is in use.
        case nameInUse(DomainName)
        /// §2.4.5 Name is not in use.
        case nameNotInUse(DomainName)

        public var name: DomainName {
            switch self {
            case .rrsetExists(let n, _), .rrsetDoesNotExist(let n, _), .nameInUse(let n), .nameNotInUse(let n): n
            case .rrsetEquals(let r): r.name
            }
        }

        func record(zoneClass: RRClass) -> Record {
            switch self {
            case .rrsetExists(let n, let t): Record(name: n, type: t, rrClass: .any, ttl: 0, rdata: [])
            case .rrsetEquals(let r): Record(name: r.name, type: r.type, rrClass: zoneClass, ttl: 0, rdata: r.rdata)
            case .rrsetDoesNotExist(let n, let t): Record(name: n, type: t, rrClass: .none, ttl: 0, rdata: [])
            case .nameInUse(let n): Record(name: n, type: .any, rrClass: .any, ttl: 0, rdata: [])
            case .nameNotInUse(let n): Record(name: n, type: .any, rrClass: .none, ttl: 0, rdata: [])
            }
        }

        /// Classifies a prerequisite-section record (RFC 2136 §3.2.1).
        public init(record: Record, zoneClass: RRClass = .in) throws {
            guard record.ttl == 0 else { throw DNSWireError(.badRdata, "prerequisite with TTL \(record.ttl) (RFC 2136 §3.2.1 wants 0)") }
            switch (record.rrClass, record.type, record.rdata.isEmpty) {
            case (.any, .any, true): self = .nameInUse(record.name)
            case (.any, _, true): self = .rrsetExists(record.name, record.type)
            case (.none, .any, true): self = .nameNotInUse(record.name)
            case (.none, _, true): self = .rrsetDoesNotExist(record.name, record.type)
            case (zoneClass, _, _) where record.type != .any: self = .rrsetEquals(record)
            default:
                throw DNSWireError(.badRdata, "prerequisite \(record.name) \(record.rrClass) \(record.type) fits no RFC 2136 §2.4 form")
            }
        }
    }

    public var zone: DomainName
    public var zoneClass: RRClass
    public var prerequisites: [Prerequisite]
    public var operations: [Operation]

    public init(zone: DomainName, zoneClass: RRClass = .in, prerequisites: [Prerequisite] = [], operations: [Operation] = []) {
        self.zone = zone
        self.zoneClass = zoneClass
        self.prerequisites = prerequisites
        self.operations = operations
    }

    // MARK: Building (RFC 2136 §2.4, §2.5)

    /// §2.4.1 RRset exists (value independent).
    public mutating func requireRRsetExists(_ name: DomainName, _ type: RRType) { prerequisites.append(.rrsetExists(name, type)) }
    /// §2.4.2 RRset exists (value dependent): every record given, and no other, must be there.
    public mutating func requireRRset(_ rrset: RRset) { prerequisites += rrset.records.map { .rrsetEquals($0) } }
    /// §2.4.3 RRset does not exist.
    public mutating func requireRRsetDoesNotExist(_ name: DomainName, _ type: RRType) { prerequisites.append(.rrsetDoesNotExist(name, type)) }
    /// §2.4.4 Name is in use.
    public mutating func requireNameInUse(_ name: DomainName) { prerequisites.append(.nameInUse(name)) }
    /// §2.4.5 Name is not in use.
    public mutating func requireNameNotInUse(_ name: DomainName) { prerequisites.append(.nameNotInUse(name)) }

    /// §2.5.1 Add to an RRset.
    public mutating func add(_ record: Record) { operations.append(.add(record)) }
    /// §2.5.2 Delete an RRset.
    public mutating func deleteRRset(_ name: DomainName, _ type: RRType) { operations.append(.deleteRRset(name, type)) }
    /// §2.5.3 Delete all RRsets from a name.
    public mutating func deleteName(_ name: DomainName) { operations.append(.deleteName(name)) }
    /// §2.5.4 Delete an RR from an RRset (the TTL is not part of the match and goes out as 0).
    public mutating func delete(_ record: Record) {
        var record = record
        record.ttl = 0
        record.rrClass = zoneClass
        operations.append(.delete(record))
    }

    /// The UPDATE message (opcode 5, zone section `zone IN SOA`, RFC 2136 §2.3).
    public func message(id: UInt16, edns: EDNS? = EDNS()) -> Message {
        var header = Header()
        header.id = id
        header.opcode = .update
        return Message(
            header: header,
            question: [Question(name: zone, type: .soa, qclass: zoneClass)],
            answer: prerequisites.map { $0.record(zoneClass: zoneClass) },
            authority: operations.map { $0.record(zoneClass: zoneClass) },
            edns: edns)
    }

    /// Reads the zone, prerequisites and changes of a received UPDATE (RFC 2136 §3.1.1: exactly
    /// one zone record of type SOA).
    public init(message: Message) throws {
        guard message.opcode == .update else { throw DNSWireError(.badRdata, "opcode \(message.opcode) is not UPDATE") }
        guard message.zone.count == 1, let zone = message.zone.first, zone.type == .soa else {
            throw DNSWireError(.badRdata, "an UPDATE needs exactly one zone record of type SOA (RFC 2136 §3.1.1)")
        }
        self.zone = zone.name
        self.zoneClass = zone.qclass
        self.prerequisites = try message.prerequisites.map { try Prerequisite(record: $0, zoneClass: zone.qclass) }
        self.operations = try message.updates.map { try Operation(record: $0, zoneClass: zone.qclass) }
    }
}
