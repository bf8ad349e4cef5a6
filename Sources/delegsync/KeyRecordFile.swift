import DNSWire
import Foundation
import SIG0
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// `delegsync keys import --from FILE`: KEY records in presentation format (RFC 1035 §5.1), one
/// per line or as a zone file — `$ORIGIN` and `$TTL`, relative owners and `@`, a blank owner for
/// the previous one, `;` comments, records continued over lines in parentheses. The file is read
/// a line at a time and the keys are stored in batches, so a million keys take no more memory
/// than one batch.
enum KeyRecordFile {
    /// The configured zone `child` is a child of (below it, not the apex), or a message naming
    /// the zones.
    static func zone(of child: DomainName, among zones: [DomainName]) throws -> DomainName {
        guard let zone = zones.first(where: { child.isSubdomain(of: $0) && child != $0 }) else {
            throw UsageFailure("\(child) is not a child of any configured zone (\(zones.map(\.description).joined(separator: ", ")))")
        }
        return zone
    }

    /// Reads `path` and stores every key in transactions of `batch`; returns how many.
    static func importKeys(
        from path: String, zones: [DomainName], state: KeyTrustState, now: Int64, batch: Int, into store: any DelegationStore
    ) throws -> Int {
        guard let file = fopen(path, "r") else {
            throw UsageFailure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var reader = Reader()
        var pending: [StoredKey] = []
        var count = 0
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        var number = 0
        while getline(&line, &capacity, file) >= 0, let line {
            number += 1
            let text = String(cString: line)
            let record: Record?
            do {
                record = try reader.take(text)
            } catch {
                throw UsageFailure("\(path) line \(number): \(error)")
            }
            guard let record else { continue }
            do {
                pending.append(try key(record, zones: zones, state: state, now: now))
            } catch let failure as UsageFailure {
                throw UsageFailure("\(path) line \(number): \(failure.description)")
            } catch {
                throw UsageFailure("\(path) line \(number): \(error)")
            }
            if pending.count >= batch {
                try store.putKeys(pending)
                count += pending.count
                pending.removeAll(keepingCapacity: true)
            }
        }
        if reader.open { throw UsageFailure("\(path): a record's parenthesis is not closed at the end of the file") }
        try store.putKeys(pending)
        return count + pending.count
    }

    static func key(_ record: Record, zones: [DomainName], state: KeyTrustState, now: Int64) throws -> StoredKey {
        guard record.type == .key else { throw UsageFailure("a \(record.type) record, not KEY: \(record)") }
        let data = try KEYData(rdata: record.rdata)
        _ = try SIG0PublicKey(data)
        let zone = try zone(of: record.name, among: zones)
        return StoredKey(
            zone: zone, child: record.name, keyTag: data.keyTag, algorithm: data.algorithm, rdata: record.rdata, state: state, addedAt: now, origin: "import")
    }

    /// Turns lines into records: directives, comments, continuation in parentheses.
    struct Reader {
        var origin = DomainName.root
        var ttl: UInt32 = 3600
        var previousOwner: String? = nil
        var collected = ""
        var depth = 0
        var open: Bool { depth > 0 }

        /// The record this line completes, or nil (a directive, a comment, an open parenthesis).
        mutating func take(_ line: String) throws -> Record? {
            var text = ""
            for character in line {
                if character == ";" { break }
                if character == "(" {
                    depth += 1
                    text.append(" ")
                } else if character == ")" {
                    guard depth > 0 else { throw UsageFailure("\")\" without \"(\"") }
                    depth -= 1
                    text.append(" ")
                } else if character != "\n" && character != "\r" {
                    text.append(character)
                }
            }
            collected += collected.isEmpty ? text : " " + text
            guard depth == 0 else { return nil }
            defer { collected = "" }
            let whole = collected
            let fields = whole.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first else { return nil }
            switch first.uppercased() {
            case "$ORIGIN":
                guard fields.count == 2 else { throw UsageFailure("$ORIGIN wants one name") }
                origin = try DomainName(String(fields[1]), origin: origin)
                return nil
            case "$TTL":
                guard fields.count == 2, let value = UInt32(fields[1]) else { throw UsageFailure("$TTL wants a number of seconds") }
                ttl = value
                return nil
            case "$INCLUDE", "$GENERATE":
                throw UsageFailure("\(first) is not supported in a key file")
            default:
                break
            }
            var owner = String(first)
            var rest = fields.dropFirst().joined(separator: " ")
            if whole.first == " " || whole.first == "\t" {
                guard let previousOwner else { throw UsageFailure("a record without an owner name") }
                owner = previousOwner
                rest = fields.joined(separator: " ")
            }
            if owner == "@" { owner = origin.description }
            previousOwner = owner
            return try Record("\(owner) \(rest)", origin: origin, defaultTTL: ttl)
        }
    }
}

/// stdout through a buffer of its own: a listing of a million rows is written in large blocks.
struct StandardOutput {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Writes what is buffered to file descriptor 1 (a closed pipe ends the writing quietly).
    mutating func flush() {
        buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(1, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
