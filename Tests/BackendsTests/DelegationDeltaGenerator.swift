import DNSWire
import DelegationCore
import TestSupport

/// One generated delegation change: the parent's data before it and the UPDATE a child sends.
struct DelegationDelta: CustomStringConvertible {
    let zone: DomainName
    let child: DomainName
    let current: DelegationSnapshot
    let update: Update

    var request: DelegationRequest {
        DelegationRequest(zone: zone, child: child, prerequisites: update.prerequisites, operations: update.operations, current: current)
    }

    var description: String {
        "zone \(zone) child \(child)\n" + update.prerequisites.map { "prereq \($0)" }.joined(separator: "\n") + "\n"
            + update.operations.map(\.description).joined(separator: "\n")
    }
}

/// Draws delegation changes of every shape a child may send: host names with upper case, digits
/// and hyphens (labels of 1–63 octets), A and AAAA glue (with zero runs and IPv4-mapped forms),
/// DS records of digest types 1, 2 and 4, NS sets of 1–13 names, adds and the three delete forms,
/// sometimes prerequisites. A few labels are deliberately not host names (escapes, underscores,
/// a leading hyphen) and a few DS are malformed: the policy must refuse those deltas.
struct DelegationDeltaGenerator {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(state: seed) }

    static let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    static let digits = Array("0123456789".utf8)
    /// Octets a label may carry in DNS but a host name may not.
    static let hostile: [UInt8] = Array("_()\";\\ .@$*/\t+=#".utf8) + [0, 0x7F, 0xC3, 0xA9, 0xFF, 10]

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    mutating func pick<T>(_ items: [T]) -> T { items.randomElement(using: &random)! }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }

    /// A host name label (RFC 1123 §2.1), mostly short, sometimes up to 63 octets; now and then
    /// (`hostilePercent`) one that is not.
    mutating func label(hostilePercent: Int = 2) -> [UInt8] {
        let length = chance(10) ? int(20...63) : int(1...12)
        let inner = Self.letters + Self.digits + Array("-".utf8)
        var label = (0..<length).map { index in
            index == 0 || index == length - 1 ? pick(Self.letters + Self.digits) : pick(inner)
        }
        if chance(hostilePercent) {
            if chance(25) {
                label.insert(UInt8(ascii: "-"), at: chance(50) ? 0 : label.count)
                if label.count > 63 { label.removeLast(label.count - 63) }
            } else {
                label[int(0...(label.count - 1))] = pick(Self.hostile)
            }
        }
        return label
    }

    /// `count` labels in front of `suffix`, fewer when the name would be too long.
    mutating func name(_ count: Int, under suffix: DomainName, hostilePercent: Int = 2) -> DomainName {
        var labels: [[UInt8]] = []
        for _ in 0..<count { labels.append(label(hostilePercent: hostilePercent)) }
        while !labels.isEmpty {
            if let name = try? DomainName(labels: labels + suffix.labels.map(Array.init)) { return name }
            labels.removeFirst()
        }
        return suffix
    }

    mutating func zone() -> DomainName {
        let tld = try! DomainName(pick(["example.", "test.", "net.", "ORG.", "co.uk.", "arpa."]))
        return name(int(1...2), under: tld, hostilePercent: 0)
    }

    /// An NS target: in-bailiwick (below the child) or anywhere else.
    mutating func nameserver(child: DomainName, hostilePercent: Int = 2) -> DomainName {
        if chance(45) { return name(int(1...2), under: child, hostilePercent: hostilePercent) }
        let provider = name(int(1...2), under: try! DomainName(pick(["net.", "com.", "example.", "NL.", "provider.test."])), hostilePercent: 0)
        return name(int(1...3), under: provider, hostilePercent: hostilePercent)
    }

    mutating func address(_ type: RRType) -> DelegationSnapshot.GlueAddress {
        guard type == .aaaa else { return .init(type: .a, rdata: bytes(4)) }
        var rdata = bytes(16)
        switch int(0...3) {
        case 0:
            // A run of zeros somewhere: the `::` form.
            let start = int(0...12)
            for i in start..<min(16, start + 2 * int(1...4)) { rdata[i] = 0 }
        case 1:
            // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms.
            for i in 0..<10 { rdata[i] = 0 }
            rdata[10] = chance(50) ? 0xFF : 0
            rdata[11] = rdata[10]
        case 2:
            rdata = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [UInt8(int(1...255))]
        default:
            break
        }
        return .init(type: .aaaa, rdata: rdata)
    }

    mutating func glue() -> Set<DelegationSnapshot.GlueAddress> {
        var addresses: Set<DelegationSnapshot.GlueAddress> = []
        for _ in 0..<int(1...3) { addresses.insert(address(chance(50) ? .a : .aaaa)) }
        return addresses
    }

    /// DS RDATA (RFC 4034 §5.1) with digest type 1, 2 or 4, now and then (`malformedPercent`) a
    /// wrong digest length.
    mutating func ds(malformedPercent: Int = 3) -> [UInt8] {
        let digestType = pick([1, 2, 2, 4] as [UInt8])
        var length = [1: 20, 2: 32, 4: 48][digestType]!
        if chance(malformedPercent) { length += pick([-1, 1]) }
        let tag = bytes(2)
        let algorithm = pick([8, 13, 14, 15, 16, UInt8(int(1...255))] as [UInt8])
        return tag + [algorithm, digestType] + bytes(length)
    }

    mutating func nameservers(child: DomainName, count: Int, hostilePercent: Int = 2) -> Set<DomainName> {
        var names: Set<DomainName> = []
        while names.count < count { names.insert(nameserver(child: child, hostilePercent: hostilePercent)) }
        return names
    }

    /// The parent's data before the change: what earlier changes left, so host names only.
    mutating func snapshot(child: DomainName) -> DelegationSnapshot {
        let nameservers = self.nameservers(child: child, count: int(1...13), hostilePercent: 0)
        var glue: [DomainName: Set<DelegationSnapshot.GlueAddress>] = [:]
        for name in nameservers.sorted() where name.isSubdomain(of: child) { glue[name] = self.glue() }
        var ds: Set<[UInt8]> = []
        for _ in 0..<int(0...3) { ds.insert(self.ds(malformedPercent: 0)) }
        return DelegationSnapshot(child: child, nameservers: nameservers, ds: ds, glue: glue)
    }

    mutating func ttl() -> UInt32 { pick([0, 1, 300, 3600, 86400, 2_147_483_647, UInt32(int(0...999_999))]) }

    /// The next delta: half of them as the child agent computes them (``DelegationDiff``), half
    /// hand-made with every RFC 2136 §2.5 form.
    mutating func next() -> DelegationDelta {
        let zone = self.zone()
        let child = name(1, under: zone, hostilePercent: 0)
        let current = snapshot(child: child)
        var update = Update(zone: zone)
        if chance(50) {
            let nameservers =
                chance(30) ? current.nameservers.union(self.nameservers(child: child, count: int(1...3))) : self.nameservers(child: child, count: int(1...13))
            var glue: [DomainName: Set<DelegationSnapshot.GlueAddress>] = [:]
            for name in nameservers.sorted() where name.isSubdomain(of: child) {
                glue[name] = chance(60) ? (current.glue[name] ?? self.glue()) : self.glue()
            }
            var ds: Set<[UInt8]> = chance(50) ? current.ds : []
            for _ in 0..<int(0...2) { ds.insert(self.ds()) }
            let apex = ChildApex(child: child, nameservers: nameservers, glue: glue, ds: ds)
            if let diff = try? DelegationDiff(current: current, apex: apex, ttl: ttl()), !diff.isEmpty {
                update.operations = diff.operations
            }
        }
        if update.operations.isEmpty { update.operations = handMade(current: current) }
        if chance(20) {
            switch int(0...3) {
            case 0: update.requireNameInUse(child)
            case 1: update.requireRRsetExists(child, .ns)
            case 2: update.requireRRset(RRset(name: child, type: .ns, ttl: 0, rdatas: current.nameservers.map(\.wire)))
            default: update.requireRRsetDoesNotExist(name(1, under: child), .a)
            }
        }
        return DelegationDelta(zone: zone, child: child, current: current, update: update)
    }

    /// Changes drawn one by one: NS adds and deletes, glue adds and deletes (record, RRset,
    /// name), DS adds and deletes.
    mutating func handMade(current: DelegationSnapshot) -> [Update.Operation] {
        let child = current.child
        var operations: [Update.Operation] = []
        if chance(30) {
            operations.append(.deleteRRset(child, .ns))
            for name in nameservers(child: child, count: int(1...13)).sorted() {
                operations.append(.add(Record(name: child, type: .ns, ttl: ttl(), rdata: name.wire)))
            }
        } else {
            for _ in 0..<int(0...3) {
                operations.append(.add(Record(name: child, type: .ns, ttl: ttl(), rdata: nameserver(child: child).wire)))
            }
            for name in current.nameservers.sorted() where chance(25) {
                operations.append(.delete(Record(name: child, type: .ns, ttl: 0, rdata: name.wire)))
            }
        }
        let added = operations.compactMap { operation -> DomainName? in
            guard case .add(let record) = operation, record.type == .ns else { return nil }
            return try? DomainName.read(from: record.rdata, at: 0).name
        }
        for name in added where name.isSubdomain(of: child) {
            for address in glue().canonicallySorted { operations.append(.add(Record(name: name, type: address.type, ttl: ttl(), rdata: address.rdata))) }
        }
        for (name, addresses) in current.glue.sorted(by: { $0.key < $1.key }) where chance(20) {
            switch int(0...2) {
            case 0: operations.append(.deleteName(name))
            case 1: operations.append(.deleteRRset(name, pick([.a, .aaaa])))
            default:
                let address = addresses.canonicallySorted[0]
                operations.append(.delete(Record(name: name, type: address.type, ttl: 0, rdata: address.rdata)))
            }
        }
        for rdata in current.ds.sorted(by: { $0.lexicographicallyPrecedes($1) }) where chance(30) {
            operations.append(.delete(Record(name: child, type: .ds, ttl: 0, rdata: rdata)))
        }
        if chance(10) { operations.append(.deleteRRset(child, .ds)) }
        // Deletes of records that cannot exist: a DS digest, an address or an NS name of the
        // wrong size. The policy must refuse them (the parent's tools cannot parse them).
        if chance(5) { operations.append(.delete(Record(name: child, type: .ds, ttl: 0, rdata: ds(malformedPercent: 50)))) }
        if chance(3), let name = current.glue.keys.sorted().first {
            let type = pick([RRType.a, .aaaa])
            operations.append(.delete(Record(name: name, type: type, ttl: 0, rdata: bytes((type == .a ? 4 : 16) + pick([-1, 1])))))
        }
        if chance(3), let name = current.nameservers.sorted().first {
            operations.append(.delete(Record(name: child, type: .ns, ttl: 0, rdata: name.wire + [0])))
        }
        for _ in 0..<int(0...2) { operations.append(.add(Record(name: child, type: .ds, ttl: ttl(), rdata: ds()))) }
        if operations.isEmpty { operations.append(.add(Record(name: child, type: .ds, ttl: ttl(), rdata: ds()))) }
        return operations
    }
}

extension DelegationSnapshot {
    /// The snapshot as records of the parent zone (TTL 3600, glue in canonical name order).
    var records: [Record] {
        var out = nameservers.sorted().map { Record(name: child, type: .ns, ttl: 3600, rdata: $0.wire) }
        out += ds.sorted { $0.lexicographicallyPrecedes($1) }.map { Record(name: child, type: .ds, ttl: 3600, rdata: $0) }
        for (name, addresses) in glue.sorted(by: { $0.key < $1.key }) {
            for address in addresses.canonicallySorted {
                out.append(Record(name: name, type: address.type, ttl: 3600, rdata: address.rdata))
            }
        }
        return out
    }
}

extension Set<DelegationSnapshot.GlueAddress> {
    /// By type, then RDATA: an order that does not depend on the process's hash seed.
    var canonicallySorted: [DelegationSnapshot.GlueAddress] {
        sorted { $0.type.rawValue != $1.type.rawValue ? $0.type.rawValue < $1.type.rawValue : $0.rdata.lexicographicallyPrecedes($1.rdata) }
    }
}
