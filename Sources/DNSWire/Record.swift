/// A resource record (RFC 1035 §3.2.1, §4.1.3). RDATA is kept in uncompressed wire form, so
/// records compare, hash and re-encode exactly; typed views (``KEYData``, ``DSYNCData``,
/// ``SIGData``) decode it on demand.
public struct Record: Sendable, Hashable, CustomStringConvertible {
    public var name: DomainName
    public var type: RRType
    public var rrClass: RRClass
    public var ttl: UInt32
    /// RDATA in uncompressed wire form; empty for RFC 2136 delete and prerequisite forms.
    public var rdata: [UInt8]

    public init(name: DomainName, type: RRType, rrClass: RRClass = .in, ttl: UInt32, rdata: [UInt8]) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
        self.ttl = ttl
        self.rdata = rdata
    }

    /// The record in uncompressed wire form (RFC 1035 §4.1.3).
    public var wire: [UInt8] {
        var out = name.wire
        out.reserveCapacity(out.count + 10 + rdata.count)
        out.appendU16(type.rawValue)
        out.appendU16(rrClass.rawValue)
        out.appendU32(ttl)
        out.appendU16(UInt16(rdata.count))
        out.append(contentsOf: rdata)
        return out
    }

    /// Reads one record at the reader's position; names in RDATA must already be uncompressed
    /// (as ldns writes them) — compressed RDATA names are decompressed by ldns before this.
    static func read(_ reader: inout WireReader) throws -> Record {
        let name = try reader.name()
        let type = RRType(try reader.u16())
        let rrClass = RRClass(try reader.u16())
        let ttl = try reader.u32()
        let length = Int(try reader.u16())
        let rdata = try reader.take(length)
        return Record(name: name, type: type, rrClass: rrClass, ttl: ttl, rdata: rdata)
    }

    /// Presentation format (RFC 1035 §5.1) as zone files and `nsupdate` take it:
    /// `owner TTL CLASS TYPE RDATA`, fields separated by tabs. DSYNC uses RFC 9859 §2.2.
    public var description: String {
        if rdata.isEmpty { return "\(name)\t\(ttl)\t\(rrClass)\t\(type)" }
        if type == .dsync, let dsync = try? DSYNCData(rdata: rdata) {
            return "\(name)\t\(ttl)\t\(rrClass)\tDSYNC\t\(dsync)"
        }
        if let text = try? LDNS.presentation(of: self) { return text }
        return genericPresentation
    }

    /// The RFC 3597 §5 form (`TYPEnnn \# len hex`), which every server parses, whatever it knows.
    public var genericPresentation: String {
        let data = rdata.isEmpty ? "\\# 0" : "\\# \(rdata.count) \(rdata.hexString.uppercased())"
        return "\(name)\t\(ttl)\t\(rrClass)\tTYPE\(type.rawValue)\t\(data)"
    }

    /// The RDATA alone in presentation format (empty for the RFC 2136 empty-RDATA forms).
    public var rdataPresentation: String {
        if rdata.isEmpty { return "" }
        if type == .dsync, let dsync = try? DSYNCData(rdata: rdata) { return dsync.description }
        let full = description
        let fields = full.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
        return fields.count == 5 ? String(fields[4]) : ""
    }
}

extension Record {
    /// Parses one record in presentation format (RFC 1035 §5.1): `owner [TTL] [CLASS] TYPE RDATA`.
    /// Relative owner names are completed with `origin`; a missing TTL is `defaultTTL`.
    /// Every type ldns knows goes through ldns; DSYNC (unknown to ldns 1.8) through ``DSYNCData``;
    /// RFC 3597 `\#` data works for any type.
    public init(_ text: String, origin: DomainName = .root, defaultTTL: UInt32 = 3600) throws {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard tokens.count >= 2 else {
            throw DNSWireError(.badPresentation, "\"\(text)\": want owner, TTL, class, type and data")
        }
        var ttl = defaultTTL
        var rrClass = RRClass.in
        var index = 1
        var type: RRType? = nil
        while index < tokens.count, type == nil {
            let token = tokens[index]
            if let value = UInt32(token) {
                ttl = value
            } else if let c = RRClass(mnemonic: token), RRType(mnemonic: token) == nil || index + 1 < tokens.count && RRType(mnemonic: tokens[index + 1]) != nil
            {
                rrClass = c
            } else if let t = RRType(mnemonic: token) {
                type = t
            } else {
                throw DNSWireError(.badPresentation, "\"\(token)\" is neither a TTL, a class nor a type in \"\(text)\"")
            }
            index += 1
        }
        guard let type else { throw DNSWireError(.badPresentation, "no type in \"\(text)\"") }
        let owner = try DomainName(tokens[0], origin: origin)
        let rdataTokens = Array(tokens[index...])
        if rdataTokens.first == "\\#" {
            guard rdataTokens.count >= 2, let length = Int(rdataTokens[1]),
                let data = [UInt8](hex: rdataTokens.dropFirst(2).joined()), data.count == length
            else { throw DNSWireError(.badPresentation, "bad RFC 3597 data in \"\(text)\"") }
            self.init(name: owner, type: type, rrClass: rrClass, ttl: ttl, rdata: data)
            return
        }
        if type == .dsync {
            let data = try DSYNCData(presentation: rdataTokens, origin: origin)
            self.init(name: owner, type: type, rrClass: rrClass, ttl: ttl, rdata: data.rdata)
            return
        }
        if rdataTokens.isEmpty {
            // RFC 2136 forms with empty RDATA (delete an RRset, prerequisites).
            self.init(name: owner, type: type, rrClass: rrClass, ttl: ttl, rdata: [])
            return
        }
        let normalized = "\(owner) \(ttl) \(rrClass) \(type) \(rdataTokens.joined(separator: " "))"
        var record = try LDNS.parse(normalized, origin: origin)
        record.name = owner
        self = record
    }
}

/// An RRset (RFC 2181 §5): the records with one owner, class and type. The TTL is the set's;
/// RDATA order does not matter for equality, and duplicates collapse (RFC 2181 §5).
public struct RRset: Sendable, Hashable, CustomStringConvertible {
    public var name: DomainName
    public var type: RRType
    public var rrClass: RRClass
    public var ttl: UInt32
    /// Distinct RDATAs in canonical order (RFC 4034 §6.3).
    public private(set) var rdatas: [[UInt8]]

    public init(name: DomainName, type: RRType, rrClass: RRClass = .in, ttl: UInt32, rdatas: [[UInt8]]) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
        self.ttl = ttl
        self.rdatas = Array(Set(rdatas)).sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Groups records into RRsets, in the order their first member appears.
    public static func group(_ records: [Record]) -> [RRset] {
        var order: [Key] = []
        var sets: [Key: RRset] = [:]
        for record in records {
            let key = Key(name: record.name, type: record.type, rrClass: record.rrClass)
            if var set = sets[key] {
                set.insert(record.rdata)
                set.ttl = min(set.ttl, record.ttl)
                sets[key] = set
            } else {
                order.append(key)
                sets[key] = RRset(name: record.name, type: record.type, rrClass: record.rrClass, ttl: record.ttl, rdatas: [record.rdata])
            }
        }
        return order.compactMap { sets[$0] }
    }

    struct Key: Hashable {
        let name: DomainName
        let type: RRType
        let rrClass: RRClass
    }

    public mutating func insert(_ rdata: [UInt8]) {
        guard !rdatas.contains(rdata) else { return }
        rdatas.append(rdata)
        rdatas.sort { $0.lexicographicallyPrecedes($1) }
    }

    /// The members as records, with the set's TTL.
    public var records: [Record] {
        rdatas.map { Record(name: name, type: type, rrClass: rrClass, ttl: ttl, rdata: $0) }
    }

    /// Same owner, class, type and RDATAs, whatever the TTL (RFC 2136 §3.2.3 compares RRsets so).
    public func sameData(as other: RRset) -> Bool {
        name == other.name && type == other.type && rrClass == other.rrClass && rdatas == other.rdatas
    }

    public var description: String { records.map(\.description).joined(separator: "\n") }
}
