import DNSWire

/// The delegation records the agent owns in a zone-file fragment that the operator's zone file
/// `$INCLUDE`s (the NSD backend's interface to the zone). Pure: text in, text out.
///
/// Records are kept one per line in presentation format with absolute owner names, sorted
/// (canonical name order, then type, then RDATA), so the same content always renders the same
/// text and applying an update twice leaves the file identical.
public struct ZoneFragment: Sendable, Hashable {
    public let zone: DomainName
    /// Sorted: canonical name order (RFC 4034 §6.1), then type, then RDATA.
    public private(set) var records: [Record]

    public init(zone: DomainName, records: [Record] = []) {
        self.zone = zone
        self.records = []
        for record in records { insert(record) }
    }

    /// Parses a fragment: one record per line; empty lines and `;` comments are skipped.
    /// Directives (`$ORIGIN`, `$TTL`…) and owner-less continuation lines are refused: the agent
    /// writes none, so one means somebody else edited the file.
    public init(zone: DomainName, text: String) throws {
        var records: [Record] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let semicolon = line.firstIndex(of: ";") { line = line[..<semicolon] }
            if line.allSatisfy(\.isWhitespace) { continue }
            guard let first = line.first, !first.isWhitespace, first != "$", !line.contains("(") else {
                throw BackendError("fragment line \(number + 1): \"\(rawLine)\" is not a one-line record with an owner")
            }
            do {
                records.append(try Record(String(line), origin: zone))
            } catch {
                throw BackendError("fragment line \(number + 1): \(error)")
            }
        }
        self.init(zone: zone, records: records)
    }

    /// The fragment's text: a header comment, then the records sorted, one per line.
    public var text: String {
        var lines = ["; Delegations of \(zone) managed by delegsync. Do not edit: the agent rewrites this file."]
        lines += records.map(\.description)
        return lines.joined(separator: "\n") + "\n"
    }

    static func matches(_ record: Record, _ name: DomainName, _ type: RRType) -> Bool {
        record.name == name && record.type == type
    }

    /// RFC 2136 §3.4.2.2: a duplicate RR is ignored; a new member takes the RRset's TTL and the
    /// set takes the newest TTL (RFC 2181 §5.2: one TTL per RRset).
    mutating func insert(_ record: Record) {
        var record = record
        record.rrClass = .in
        for i in records.indices where Self.matches(records[i], record.name, record.type) {
            records[i].ttl = record.ttl
        }
        if !records.contains(where: { Self.matches($0, record.name, record.type) && $0.rdata == record.rdata }) {
            records.append(record)
            records.sort { a, b in
                if a.name != b.name { return a.name < b.name }
                if a.type != b.type { return a.type.rawValue < b.type.rawValue }
                return a.rdata.lexicographicallyPrecedes(b.rdata)
            }
        }
    }

    /// Applies the update's prerequisites (RFC 2136 §3.2) and operations (§3.4.2, the four
    /// §2.5 forms) to the fragment. Only names strictly below the zone apex may change: apex
    /// records live in the operator's zone file.
    public mutating func apply(_ update: Update) throws {
        guard update.zone == zone else { throw BackendError("update for zone \(update.zone), this fragment is \(zone)") }
        if let failed = evaluate(update.prerequisites) {
            throw BackendError("prerequisite failed: \(failed) (RFC 2136 §3.2)")
        }
        for operation in update.operations {
            let name = operation.name
            guard name.isSubdomain(of: zone), name != zone else {
                throw BackendError("\(operation): \(name) is not below \(zone); the fragment holds delegations only")
            }
        }
        for operation in update.operations {
            switch operation {
            case .add(let record):
                insert(record)
            case .delete(let record):
                records.removeAll { Self.matches($0, record.name, record.type) && $0.rdata == record.rdata }
            case .deleteRRset(let name, let type):
                records.removeAll { Self.matches($0, name, type) }
            case .deleteName(let name):
                records.removeAll { $0.name == name }
            }
        }
    }

    /// The RCODE of the first failing prerequisite (RFC 2136 §3.2.5), or nil.
    func evaluate(_ prerequisites: [Update.Prerequisite]) -> RCode? {
        var wanted: [Record] = []
        for prerequisite in prerequisites {
            switch prerequisite {
            case .rrsetExists(let n, let t): if !records.contains(where: { Self.matches($0, n, t) }) { return .nxRRset }
            case .rrsetDoesNotExist(let n, let t): if records.contains(where: { Self.matches($0, n, t) }) { return .yxRRset }
            case .nameInUse(let n): if !records.contains(where: { $0.name == n }) { return .nxDomain }
            case .nameNotInUse(let n): if records.contains(where: { $0.name == n }) { return .yxDomain }
            case .rrsetEquals(let r): wanted.append(r)
            }
        }
        for set in RRset.group(wanted) {
            let present = RRset.group(records.filter { Self.matches($0, set.name, set.type) })
            guard let have = present.first, have.sameData(as: set) else { return .nxRRset }
        }
        return nil
    }
}
