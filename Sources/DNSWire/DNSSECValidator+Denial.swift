/// What a negative answer proves (RFC 4035 §5.4, RFC 5155 §8), once its NSEC or NSEC3
/// records validated.
public enum Denial: Sendable, Hashable, CustomStringConvertible {
    /// The name exists but has no RRset of the type (NODATA; an empty non-terminal included).
    case noData
    /// The name does not exist, and no wildcard could have made it (NXDOMAIN).
    case nameError
    /// The name does not exist, a wildcard covers it, and the wildcard has no RRset of the type.
    case wildcardNoData
    /// NSEC3 opt-out (RFC 5155 §6, §8.6): the next closer name may be an unsigned delegation;
    /// only a DS question is answered this way, and the answer is insecure.
    case optOut

    public var description: String {
        switch self {
        case .noData: "NODATA"
        case .nameError: "NXDOMAIN"
        case .wildcardNoData: "NODATA at the covering wildcard"
        case .optOut: "an NSEC3 opt-out span (an unsigned delegation may exist; insecure)"
        }
    }
}

extension Denial {
    /// NODATA at an existing name from its NSEC or NSEC3 type bit map (`record` names it): the
    /// type and CNAME absent; the record of a delegation point (NS without SOA) is the parent's
    /// and proves nothing but the absence of DS there (RFC 4035 §5.4, RFC 5155 §8.5, §8.6).
    static func noData(_ types: [RRType], in record: String, _ type: RRType) -> Result<Denial, DNSSECFailure> {
        let types = Set(types)
        guard !types.contains(type) else { return .failure(.bogus("\(record) lists \(type): the RRset exists")) }
        guard !types.contains(.cname) else { return .failure(.bogus("\(record) lists CNAME")) }
        if type != .ds, types.contains(.ns), !types.contains(.soa) {
            return .failure(.bogus("\(record) is the parent's, at a delegation point: it proves nothing about \(type) below the cut"))
        }
        return .success(.noData)
    }
}

extension DNSSECValidator {
    /// The most NSEC3 iterations validated (RFC 9276 §3.2: above a limit a validator may treat
    /// the answer as insecure; delegsync refuses it with that reason).
    public static let maximumNSEC3Iterations: UInt16 = 150

    /// RFC 4035 §5.4 and RFC 5155 §8: whether `records` (an authority section: NSEC or NSEC3
    /// RRsets with their RRSIGs) prove that `name` has no RRset of `type` in `zone` — NXDOMAIN
    /// when `nameError` (the answer's RCODE), else NODATA (exact, empty non-terminal, wildcard,
    /// or for DS an opt-out span). Every NSEC/NSEC3 RRset used must validate under `keys` at
    /// `now`. Failure: bogus with what is missing.
    public static func proveDenial(
        of name: DomainName, _ type: RRType, nameError: Bool, records: [Record], zone: DomainName, keys: [KEYData], now: Int64
    ) -> Result<Denial, DNSSECFailure> {
        guard name.isSubdomain(of: zone) else { return .failure(.bogus("\(name) is not in the zone \(zone)")) }
        let proofs = validatedProofs(records, zone: zone, keys: keys, now: now)
        if !proofs.nsec.isEmpty {
            return NSECProof(zone: zone, records: proofs.nsec).deny(name, type, nameError: nameError)
        }
        if !proofs.nsec3.isEmpty {
            return NSEC3Proof(zone: zone, records: proofs.nsec3).deny(name, type, nameError: nameError)
        }
        let why = proofs.problems.isEmpty ? "the answer carries no NSEC or NSEC3 record" : proofs.problems.joined(separator: "; ")
        return .failure(.bogus("no validated denial of existence for \(name) \(type) in \(zone): \(why) (RFC 4035 §5.4)"))
    }

    /// RFC 4035 §5.3.4, RFC 5155 §8.8: a positive answer synthesized from the wildcard at
    /// `closestEncloser` is valid only with proof that `name` itself does not exist: an NSEC
    /// covering it, or an NSEC3 covering the next closer name.
    public static func proveWildcardExpansion(
        of name: DomainName, closestEncloser: DomainName, records: [Record], zone: DomainName, keys: [KEYData], now: Int64
    ) -> Result<Void, DNSSECFailure> {
        let proofs = validatedProofs(records, zone: zone, keys: keys, now: now)
        if proofs.nsec.contains(where: { NSECProof.covers($0, name, zone: zone) }) { return .success(()) }
        if let nextCloser = NSEC3Proof.nextCloser(name, below: closestEncloser),
            NSEC3Proof(zone: zone, records: proofs.nsec3).covering(nextCloser) != nil
        {
            return .success(())
        }
        return .failure(
            .bogus(
                "\(name) was synthesized from the wildcard *.\(closestEncloser), but no validated NSEC/NSEC3 proves that \(name) itself does not exist (RFC 4035 §5.3.4, RFC 5155 §8.8)"
            ))
    }

    /// The NSEC and NSEC3 records among `records` whose RRset validates in `zone`.
    static func validatedProofs(_ records: [Record], zone: DomainName, keys: [KEYData], now: Int64) -> (
        nsec: [(owner: DomainName, data: NSECData)], nsec3: [(owner: DomainName, data: NSEC3Data)], problems: [String]
    ) {
        var nsec: [(DomainName, NSECData)] = []
        var nsec3: [(DomainName, NSEC3Data)] = []
        var problems: [String] = []
        let denials = records.filter { record in (record.type == .nsec || record.type == .nsec3) && record.rrClass == .in }
        for set in RRset.group(denials) {
            let signed = SignedRRset(rrset: set, signatures: SignedRRset.signatures(in: records, name: set.name, covering: set.type))
            if case .failure(let failure) = verify(signed, zone: zone, keys: keys, now: now) {
                problems.append(failure.reason)
                continue
            }
            for rdata in set.rdatas {
                if set.type == .nsec, let data = try? NSECData(rdata: rdata) { nsec.append((set.name, data)) }
                if set.type == .nsec3, let data = try? NSEC3Data(rdata: rdata) { nsec3.append((set.name, data)) }
            }
        }
        return (nsec, nsec3, problems)
    }
}

/// Denial with NSEC (RFC 4035 §3.1.3, §5.4; RFC 4034 §4, §6.1 canonical order).
struct NSECProof {
    let zone: DomainName
    let records: [(owner: DomainName, data: NSECData)]

    /// RFC 4034 §4.1.1: `name` falls strictly between the owner and the next name in canonical
    /// order (the last NSEC of the zone points back at the apex).
    static func covers(_ record: (owner: DomainName, data: NSECData), _ name: DomainName, zone: DomainName) -> Bool {
        let owner = record.owner, next = record.data.nextName
        guard name.isSubdomain(of: zone), owner.isSubdomain(of: zone) else { return false }
        if owner < next { return owner < name && name < next }
        return owner < name || name < next
    }

    func deny(_ name: DomainName, _ type: RRType, nameError: Bool) -> Result<Denial, DNSSECFailure> {
        if let match = records.first(where: { $0.owner == name }) {
            guard !nameError else { return .failure(.bogus("an NSEC at \(name) proves it exists, but the answer was NXDOMAIN")) }
            return noData(match.data, at: name, type)
        }
        guard let covering = records.first(where: { Self.covers($0, name, zone: zone) }) else {
            return .failure(.bogus("no NSEC matches or covers \(name) in \(zone) (RFC 4035 §5.4)"))
        }
        // An empty non-terminal: the next name is below it (RFC 4035 §3.1.3.2, RFC 7129 §2).
        if covering.data.nextName.isSubdomain(of: name) {
            guard !nameError else {
                return .failure(.bogus("\(name) is an empty non-terminal (\(covering.data.nextName) is below it), but the answer was NXDOMAIN"))
            }
            return .success(.noData)
        }
        let encloser = closestEncloser(name, covering)
        guard let wildcard = try? encloser.prepending(Array("*".utf8)) else { return .failure(.bogus("cannot form the wildcard at \(encloser)")) }
        if let source = records.first(where: { $0.owner == wildcard }) {
            guard !nameError else { return .failure(.bogus("the wildcard \(wildcard) exists, so \(name) cannot be NXDOMAIN")) }
            return noData(source.data, at: wildcard, type).map { _ in .wildcardNoData }
        }
        guard records.contains(where: { Self.covers($0, wildcard, zone: zone) }) else {
            return .failure(.bogus("an NSEC covers \(name), but none proves that the wildcard \(wildcard) does not exist (RFC 4035 §5.4)"))
        }
        guard nameError else { return .failure(.bogus("NSEC records prove \(name) does not exist, but the answer was NOERROR")) }
        return .success(.nameError)
    }

    func noData(_ data: NSECData, at owner: DomainName, _ type: RRType) -> Result<Denial, DNSSECFailure> {
        Denial.noData(data.types, in: "the NSEC at \(owner)", type)
    }

    /// The longest ancestor of `name` shared with the covering NSEC's owner or next name.
    func closestEncloser(_ name: DomainName, _ covering: (owner: DomainName, data: NSECData)) -> DomainName {
        let candidates = [covering.owner, covering.data.nextName].map { commonAncestor(name, $0) }
        return candidates.max { $0.labelCount < $1.labelCount }.map { $0.isSubdomain(of: zone) ? $0 : zone } ?? zone
    }

    func commonAncestor(_ a: DomainName, _ b: DomainName) -> DomainName {
        var candidate = a
        while !b.isSubdomain(of: candidate), !candidate.isRoot { candidate = candidate.parent }
        return candidate
    }
}

/// Denial with NSEC3 (RFC 5155 §8).
struct NSEC3Proof {
    let zone: DomainName
    /// Records with the RFC 5155 §8.2 checks passed: algorithm 1, flags 0 or 1, owner one label
    /// below the zone.
    let records: [(hash: [UInt8], data: NSEC3Data)]
    let ignored: [String]

    init(zone: DomainName, records: [(owner: DomainName, data: NSEC3Data)]) {
        self.zone = zone
        var usable: [([UInt8], NSEC3Data)] = []
        var ignored: [String] = []
        for (owner, data) in records {
            guard data.hashAlgorithm == 1, data.flags & ~NSEC3Data.optOut == 0 else {
                ignored.append("\(owner): hash algorithm \(data.hashAlgorithm), flags \(data.flags) (RFC 5155 §8.2: ignored)")
                continue
            }
            guard owner.parent == zone, let label = owner.firstLabel, let hash = NSEC3Data.hash(fromLabel: label) else {
                ignored.append("\(owner): not a hashed owner name directly below \(zone)")
                continue
            }
            usable.append((hash, data))
        }
        self.records = usable
        self.ignored = ignored
    }

    /// The parameters of the zone's chain (every NSEC3 of one chain shares them).
    var parameters: (iterations: UInt16, salt: [UInt8])? { records.first.map { ($0.data.iterations, $0.data.salt) } }

    func hash(_ name: DomainName) -> [UInt8]? { parameters.map { NSEC3Data.hash(name, iterations: $0.iterations, salt: $0.salt) } }

    func matching(_ name: DomainName) -> NSEC3Data? {
        guard let hash = hash(name) else { return nil }
        return records.first { $0.hash == hash }?.data
    }

    /// RFC 5155 §8.3: an NSEC3 whose owner hash and next hash enclose the hash of `name`.
    func covering(_ name: DomainName) -> NSEC3Data? {
        guard let hash = hash(name) else { return nil }
        return records.first { record in
            let owner = record.hash, next = record.data.nextHashedOwner
            if owner.lexicographicallyPrecedes(next) { return owner.lexicographicallyPrecedes(hash) && hash.lexicographicallyPrecedes(next) }
            return owner.lexicographicallyPrecedes(hash) || hash.lexicographicallyPrecedes(next)
        }?.data
    }

    /// `name` cut to one label more than `encloser`; nil when `name` is not below it.
    static func nextCloser(_ name: DomainName, below encloser: DomainName) -> DomainName? {
        guard name.isSubdomain(of: encloser), name.labelCount > encloser.labelCount else { return nil }
        var candidate = name
        while candidate.labelCount > encloser.labelCount + 1 { candidate = candidate.parent }
        return candidate
    }

    /// RFC 5155 §8.3: the closest encloser of `name` (an ancestor with a matching NSEC3) and the
    /// NSEC3 covering the next closer name.
    func closestEncloserProof(_ name: DomainName) -> (encloser: DomainName, nextCloser: NSEC3Data)? {
        var candidate = name.parent
        while candidate.isSubdomain(of: zone) {
            if matching(candidate) != nil {
                guard let next = Self.nextCloser(name, below: candidate), let covering = covering(next) else { return nil }
                return (candidate, covering)
            }
            if candidate == zone { break }
            candidate = candidate.parent
        }
        return nil
    }

    func deny(_ name: DomainName, _ type: RRType, nameError: Bool) -> Result<Denial, DNSSECFailure> {
        guard let parameters, !records.isEmpty else {
            return .failure(.bogus("no usable NSEC3 record: \(ignored.joined(separator: "; "))"))
        }
        guard parameters.iterations <= DNSSECValidator.maximumNSEC3Iterations else {
            return .failure(
                .insecure(
                    "the NSEC3 chain of \(zone) uses \(parameters.iterations) iterations, above \(DNSSECValidator.maximumNSEC3Iterations) (RFC 9276 §3.2)"))
        }
        if let match = matching(name) {
            guard !nameError else { return .failure(.bogus("an NSEC3 matches \(name), so it exists, but the answer was NXDOMAIN")) }
            return noData(match, at: name, type)
        }
        guard let (encloser, nextCloser) = closestEncloserProof(name) else {
            return .failure(.bogus("no NSEC3 closest encloser proof for \(name) in \(zone) (RFC 5155 §8.3)"))
        }
        // RFC 5155 §8.6: no DS at a name inside an opt-out span.
        if type == .ds, !nameError, nextCloser.isOptOut { return .success(.optOut) }
        guard let wildcard = try? encloser.prepending(Array("*".utf8)) else { return .failure(.bogus("cannot form the wildcard at \(encloser)")) }
        if let source = matching(wildcard) {
            guard !nameError else { return .failure(.bogus("the wildcard \(wildcard) exists, so \(name) cannot be NXDOMAIN")) }
            return noData(source, at: wildcard, type).map { _ in .wildcardNoData }
        }
        guard covering(wildcard) != nil else {
            return .failure(.bogus("no NSEC3 covers the wildcard \(wildcard) of the closest encloser \(encloser) (RFC 5155 §8.4)"))
        }
        guard nameError else { return .failure(.bogus("NSEC3 records prove \(name) does not exist, but the answer was NOERROR")) }
        return .success(.nameError)
    }

    func noData(_ data: NSEC3Data, at owner: DomainName, _ type: RRType) -> Result<Denial, DNSSECFailure> {
        Denial.noData(data.types, in: "the NSEC3 matching \(owner)", type)
    }
}
