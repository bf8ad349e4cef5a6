/// A fully qualified domain name (RFC 1034 §3.1, RFC 1035 §3.1).
///
/// Stored as its uncompressed wire form with the case it was given, so that a name can be
/// signed and digested exactly as sent. Equality, hashing and ordering ignore ASCII case and
/// work label by label (RFC 4343): `ample.example.` is never below `example.example.`.
public struct DomainName: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The uncompressed wire form, ending in the root label (a single zero octet).
    public let wire: [UInt8]

    /// The root name `.`.
    public static let root = DomainName(uncheckedWire: [0])

    /// Longest name in wire form (RFC 1035 §2.3.4).
    public static let maxWireLength = 255
    /// Longest label (RFC 1035 §2.3.4).
    public static let maxLabelLength = 63

    init(uncheckedWire: [UInt8]) {
        self.wire = uncheckedWire
    }

    /// A name from its labels, leftmost first, without the root label.
    public init(labels: [[UInt8]]) throws {
        var wire: [UInt8] = []
        for label in labels {
            guard !label.isEmpty else { throw DNSWireError(.emptyLabel, "a name cannot contain an empty label") }
            guard label.count <= Self.maxLabelLength else {
                throw DNSWireError(.labelTooLong, "label of \(label.count) octets (at most 63)")
            }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
        }
        wire.append(0)
        guard wire.count <= Self.maxWireLength else {
            throw DNSWireError(.nameTooLong, "name of \(wire.count) octets in wire form (at most 255)")
        }
        self.wire = wire
    }

    /// The labels, leftmost first, without the root label.
    public var labels: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var i = 0
        while wire[i] != 0 {
            let length = Int(wire[i])
            result.append(wire[(i + 1)...(i + length)])
            i += length + 1
        }
        return result
    }

    /// Number of labels, not counting the root (RFC 4034 §3.1.3).
    public var labelCount: Int {
        var count = 0
        var i = 0
        while wire[i] != 0 {
            count += 1
            i += Int(wire[i]) + 1
        }
        return count
    }

    public var isRoot: Bool { wire.count == 1 }

    /// The name with ASCII letters lower-cased (RFC 4034 §6.2 canonical form).
    public var lowercased: DomainName {
        DomainName(uncheckedWire: wire.map(Self.lower))
    }

    /// The name without its leftmost label; the root stays the root.
    public var parent: DomainName {
        guard !isRoot else { return self }
        return DomainName(uncheckedWire: Array(wire[(Int(wire[0]) + 1)...]))
    }

    /// The first (leftmost) label, or `nil` for the root.
    public var firstLabel: ArraySlice<UInt8>? { labels.first }

    /// True when `self` equals `other` or lies below it, compared label by label,
    /// case-insensitively — never by string suffix.
    public func isSubdomain(of other: DomainName) -> Bool {
        let suffix = other.wire.count
        guard wire.count >= suffix else { return false }
        // Walk label by label to the boundary where exactly `other`'s length remains; from a
        // shared boundary, equal bytes (length octets ≤ 63 are not letters) mean equal labels.
        var start = 0
        while wire.count - start > suffix { start += Int(wire[start]) + 1 }
        guard wire.count - start == suffix else { return false }
        for offset in 0..<suffix where Self.lower(wire[start + offset]) != Self.lower(other.wire[offset]) {
            return false
        }
        return true
    }

    /// The labels of `self` below `ancestor` (e.g. `child` for `child.parent.` under `parent.`),
    /// or `nil` when `self` is not at or below `ancestor`.
    public func relativeLabels(to ancestor: DomainName) -> [ArraySlice<UInt8>]? {
        guard isSubdomain(of: ancestor) else { return nil }
        let mine = labels
        return Array(mine.prefix(mine.count - ancestor.labelCount))
    }

    /// `label.self`.
    public func prepending(_ label: [UInt8]) throws -> DomainName {
        try DomainName(labels: [label] + labels.map(Array.init))
    }

    /// `self` with the labels of `suffix` appended (`self` relative, `suffix` its origin).
    public func appending(_ suffix: DomainName) throws -> DomainName {
        try DomainName(labels: labels.map(Array.init) + suffix.labels.map(Array.init))
    }

    // MARK: Equality, hashing, canonical order

    public static func == (lhs: DomainName, rhs: DomainName) -> Bool {
        lhs.wire.count == rhs.wire.count && zip(lhs.wire, rhs.wire).allSatisfy { lower($0) == lower($1) }
    }

    /// Consistent with `==`: the lower-cased wire form, eight bytes per combine.
    public func hash(into hasher: inout Hasher) {
        var word: UInt64 = 0
        var shift: UInt64 = 0
        for byte in wire {
            word |= UInt64(Self.lower(byte)) << shift
            shift += 8
            if shift == 64 {
                hasher.combine(word)
                word = 0
                shift = 0
            }
        }
        hasher.combine(word)
        hasher.combine(wire.count)
    }

    /// Canonical DNS name order (RFC 4034 §6.1): compare the rightmost labels first, each as a
    /// left-justified octet string with upper case treated as lower case; a missing label sorts first.
    public static func < (lhs: DomainName, rhs: DomainName) -> Bool {
        let a = lhs.labels
        let b = rhs.labels
        for (x, y) in zip(a.reversed(), b.reversed()) {
            let lx = x.map(lower)
            let ly = y.map(lower)
            if lx != ly { return lx.lexicographicallyPrecedes(ly) }
        }
        return a.count < b.count
    }

    static func lower(_ byte: UInt8) -> UInt8 {
        (byte >= 0x41 && byte <= 0x5A) ? byte + 0x20 : byte
    }

    static func labelEqual(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { lower($0) == lower($1) }
    }
}

// MARK: - Presentation format (RFC 1035 §5.1, RFC 4343 §2.1)

extension DomainName {
    /// Parses a name in presentation format. A name without a final dot is relative to `origin`
    /// (the root when none is given); `@` is the origin itself.
    public init(_ text: String, origin: DomainName = .root) throws {
        if text == "@" {
            self = origin
            return
        }
        guard !text.isEmpty else { throw DNSWireError(.emptyLabel, "empty name") }
        if text == "." {
            self = .root
            return
        }
        var labels: [[UInt8]] = []
        var current: [UInt8] = []
        var absolute = false
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: ".") {
                guard !current.isEmpty else {
                    throw DNSWireError(.emptyLabel, "empty label in \"\(text)\"")
                }
                labels.append(current)
                current = []
                if i == bytes.count - 1 { absolute = true }
                i += 1
                continue
            }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { throw DNSWireError(.badEscape, "name \"\(text)\" ends in a backslash") }
                if bytes[i] >= 0x30 && bytes[i] <= 0x39 {
                    guard i + 2 < bytes.count,
                        (0x30...0x39).contains(bytes[i + 1]), (0x30...0x39).contains(bytes[i + 2])
                    else { throw DNSWireError(.badEscape, "\\DDD needs three digits in \"\(text)\"") }
                    let value = Int(bytes[i] - 0x30) * 100 + Int(bytes[i + 1] - 0x30) * 10 + Int(bytes[i + 2] - 0x30)
                    guard value <= 255 else { throw DNSWireError(.badEscape, "\\\(value) is above 255 in \"\(text)\"") }
                    current.append(UInt8(value))
                    i += 3
                } else {
                    current.append(bytes[i])
                    i += 1
                }
                continue
            }
            current.append(c)
            i += 1
        }
        if !current.isEmpty { labels.append(current) }
        for label in labels where label.count > Self.maxLabelLength {
            throw DNSWireError(.labelTooLong, "label of \(label.count) octets in \"\(text)\" (at most 63)")
        }
        if !absolute {
            labels += origin.labels.map(Array.init)
        }
        do {
            try self.init(labels: labels)
        } catch let error as DNSWireError where error.code == .nameTooLong {
            throw DNSWireError(.nameTooLong, "\"\(text)\" is longer than 255 octets in wire form")
        }
    }

    /// The name in presentation format, fully qualified, with special characters escaped.
    public var description: String {
        if isRoot { return "." }
        var out = ""
        for label in labels {
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "("),
                    UInt8(ascii: ")"), UInt8(ascii: ";"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                    out.append("\\")
                    out.append(Character(Unicode.Scalar(byte)))
                case 0x21...0x7E:
                    out.append(Character(Unicode.Scalar(byte)))
                default:
                    let digits = String(byte)
                    out.append("\\" + String(repeating: "0", count: 3 - digits.count) + digits)
                }
            }
            out.append(".")
        }
        return out
    }
}

// MARK: - Wire format (RFC 1035 §3.1, §4.1.4)

extension DomainName {
    /// Reads a possibly compressed name at `offset` in `message`, and returns it with the offset
    /// just past the name as it stands at `offset`. Pointers must point strictly backwards, which
    /// rules out loops (RFC 1035 §4.1.4 only ever points to a prior occurrence).
    public static func read(from message: [UInt8], at offset: Int) throws -> (name: DomainName, next: Int) {
        var wire: [UInt8] = []
        var position = offset
        var next: Int? = nil
        var lowestTarget = offset
        while true {
            guard position < message.count else { throw DNSWireError(.truncated, "name runs past the end of the data") }
            let length = message[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    wire.append(0)
                    guard wire.count <= maxWireLength else {
                        throw DNSWireError(.nameTooLong, "name of \(wire.count) octets in wire form")
                    }
                    return (DomainName(uncheckedWire: wire), next ?? position + 1)
                }
                let end = position + 1 + Int(length)
                guard end <= message.count else { throw DNSWireError(.truncated, "label runs past the end of the data") }
                wire.append(length)
                wire.append(contentsOf: message[(position + 1)..<end])
                guard wire.count < maxWireLength else {
                    throw DNSWireError(.nameTooLong, "name longer than 255 octets in wire form")
                }
                position = end
            case 0xC0:
                guard position + 1 < message.count else { throw DNSWireError(.truncated, "pointer runs past the end of the data") }
                let target = Int(length & 0x3F) << 8 | Int(message[position + 1])
                guard target < lowestTarget else {
                    throw DNSWireError(.badPointer, "compression pointer at \(position) to \(target) does not point backwards")
                }
                if next == nil { next = position + 2 }
                lowestTarget = target
                position = target
            default:
                throw DNSWireError(.badLabelType, "label type 0x\(String(length, radix: 16)) is not supported")
            }
        }
    }
}
