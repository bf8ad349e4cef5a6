import DNSWire

/// The text form of an outbox entry's operations: one line per RFC 2136 §2.5 operation, fields
/// separated by single spaces, numbers in decimal, names and RDATA as lower-case hex of their
/// uncompressed wire form (so case, escapes and binary labels survive exactly):
///
///     add <owner> <type> <class> <ttl> <rdata>
///     delete <owner> <type> <class> <ttl> <rdata>
///     deleteRRset <owner> <type>
///     deleteName <owner>
///
/// Empty RDATA is written as `-`. The class and TTL of `add` and `delete` are kept as given, even
/// though the update message rewrites them (RFC 2136 §2.5.4 sends CLASS NONE, TTL 0).
enum StoredOperations {
    static func encode(_ operations: [Update.Operation]) -> String {
        operations.map(line).joined(separator: "\n")
    }

    static func decode(_ text: String) throws -> [Update.Operation] {
        try text.split(separator: "\n", omittingEmptySubsequences: true).map { try operation(String($0)) }
    }

    static func line(_ operation: Update.Operation) -> String {
        switch operation {
        case .add(let r): "add " + fields(r)
        case .delete(let r): "delete " + fields(r)
        case .deleteRRset(let name, let type): "deleteRRset \(name.wire.hexString) \(type.rawValue)"
        case .deleteName(let name): "deleteName \(name.wire.hexString)"
        }
    }

    private static func fields(_ r: Record) -> String {
        let rdata = r.rdata.isEmpty ? "-" : r.rdata.hexString
        return "\(r.name.wire.hexString) \(r.type.rawValue) \(r.rrClass.rawValue) \(r.ttl) \(rdata)"
    }

    static func operation(_ line: String) throws -> Update.Operation {
        let f = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        switch (f.first, f.count) {
        case ("add", 6): return .add(try record(f, line))
        case ("delete", 6): return .delete(try record(f, line))
        case ("deleteRRset", 3): return .deleteRRset(try name(f[1], line), RRType(try number(f[2], line)))
        case ("deleteName", 2): return .deleteName(try name(f[1], line))
        default: throw corrupt(line, "unknown operation or wrong number of fields")
        }
    }

    private static func record(_ f: [String], _ line: String) throws -> Record {
        let type = try number(f[2], line)
        let rrClass = try number(f[3], line)
        guard let ttl = UInt32(f[4]) else { throw corrupt(line, "\"\(f[4])\" is not a TTL") }
        let rdata: [UInt8]
        if f[5] == "-" {
            rdata = []
        } else if let bytes = [UInt8](hex: f[5]), !bytes.isEmpty {
            rdata = bytes
        } else {
            throw corrupt(line, "bad RDATA hex")
        }
        return Record(name: try name(f[1], line), type: RRType(type), rrClass: RRClass(rrClass), ttl: ttl, rdata: rdata)
    }

    private static func number(_ field: String, _ line: String) throws -> UInt16 {
        guard let value = UInt16(field) else { throw corrupt(line, "\"\(field)\" is not a 16-bit number") }
        return value
    }

    private static func name(_ field: String, _ line: String) throws -> DomainName {
        guard let wire = [UInt8](hex: field) else { throw corrupt(line, "bad name hex") }
        do {
            let (name, next) = try DomainName.read(from: wire, at: 0)
            guard next == wire.count else { throw corrupt(line, "octets after the name") }
            return name
        } catch let error as StoreError {
            throw error
        } catch {
            throw corrupt(line, "bad name: \(error)")
        }
    }

    private static func corrupt(_ line: String, _ why: String) -> StoreError {
        StoreError(.corrupt, "cannot read stored outbox operation \"\(line)\": \(why)")
    }
}
