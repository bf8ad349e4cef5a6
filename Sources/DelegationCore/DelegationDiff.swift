import DNSWire

/// What the child's own authoritative data says the parent should hold for its delegation: the
/// NS RRset at the child apex, glue for the nameservers inside the child, and the DS RRset.
///
/// Glue is kept only for NS names at or below the child, compared label by label
/// (``DomainName/isSubdomain(of:)``): with child `example.parent.`, `ns1.example.parent.` needs
/// glue, `ns.anexample.parent.` does not. In RFC 9471 §2 words these are the *in-domain* names;
/// RFC 9471's *sibling* glue (below the parent, outside the child) belongs to the parent's
/// other delegations and is never sent by a child, so addresses of names outside the child are
/// ignored, whatever the child serves.
///
/// The DS set follows from the apex by ``delegationSigners(child:cds:cdnskey:dnskey:)``.
public struct ChildApex: Sendable, Hashable {
    public var child: DomainName
    /// NS targets at the child apex.
    public var nameservers: Set<DomainName>
    /// A and AAAA of the in-bailiwick nameservers, by NS name.
    public var glue: [DomainName: Set<DelegationSnapshot.GlueAddress>]
    /// DS RDATAs the parent should hold (RFC 4034 §5.1); empty for an insecure delegation.
    public var ds: Set<[UInt8]>

    /// Keeps `glue` only for in-bailiwick names of `nameservers`; other addresses are dropped
    /// (see the type's documentation).
    public init(child: DomainName, nameservers: Set<DomainName>, glue: [DomainName: Set<DelegationSnapshot.GlueAddress>] = [:], ds: Set<[UInt8]> = []) {
        self.child = child
        self.nameservers = nameservers
        let needed = nameservers.filter { $0.isSubdomain(of: child) }
        self.glue = glue.filter { needed.contains($0.key) && !$0.value.isEmpty }
        self.ds = ds
    }

    /// Reads the apex from records the child's primary serves: NS, CDS, CDNSKEY and DNSKEY at
    /// `child`, and A/AAAA anywhere (only those of in-bailiwick NS names are kept). Records of
    /// other types, owners or classes are ignored.
    ///
    /// Throws ``DelegationDiffError`` when a record is malformed or the DS set cannot be derived.
    public init(child: DomainName, records: [Record]) throws {
        var nameservers: Set<DomainName> = []
        var addresses: [DomainName: Set<DelegationSnapshot.GlueAddress>] = [:]
        var cds: [[UInt8]] = []
        var cdnskey: [[UInt8]] = []
        var dnskey: [[UInt8]] = []
        for record in records where record.rrClass == .in {
            switch record.type {
            case .ns where record.name == child:
                do {
                    let (name, next) = try DomainName.read(from: record.rdata, at: 0)
                    guard next == record.rdata.count else { throw DNSWireError(.trailingData, "NS RDATA longer than its name") }
                    nameservers.insert(name)
                } catch {
                    throw DelegationDiffError(.malformedRecord, "\(child) NS: \(error); fix the NS record in the child zone")
                }
            case .cds where record.name == child: cds.append(record.rdata)
            case .cdnskey where record.name == child: cdnskey.append(record.rdata)
            case .dnskey where record.name == child: dnskey.append(record.rdata)
            case .a, .aaaa:
                addresses[record.name, default: []].insert(DelegationSnapshot.GlueAddress(type: record.type, rdata: record.rdata))
            default:
                break
            }
        }
        let ds = try Self.delegationSigners(child: child, cds: cds, cdnskey: cdnskey, dnskey: dnskey)
        self.init(child: child, nameservers: nameservers, glue: addresses, ds: ds)
    }

    /// NS targets at or below the child: the names that need glue.
    public var inBailiwickNameservers: Set<DomainName> {
        nameservers.filter { $0.isSubdomain(of: child) }
    }

    /// The DS RDATAs the parent should hold, from the child apex's RRsets (RDATAs only):
    ///
    /// 1. CDS present (RFC 7344 §4): the CDS records, copied. The delete form `CDS 0 0 0 00`
    ///    (RFC 8078 §4) means no DS at all; it must be the only CDS. A CDS whose digest type the
    ///    parent does not accept (SHA-1 and others, RFC 8624 §3.3; ``DSPolicy`` takes SHA-256 and
    ///    SHA-384) is left out when the same key also has a CDS of an accepted type, and refused
    ///    otherwise — leaving it out would drop that key's DS without the child asking.
    /// 2. Else CDNSKEY present (RFC 7344 §4): a SHA-256 DS of each key (RFC 4509 §2.1). The delete
    ///    form `CDNSKEY 0 3 0 AA==` (RFC 8078 §4) means no DS; it must be alone too. CDS wins when
    ///    both are published; their consistency is not checked here.
    /// 3. Else DNSKEY present: a SHA-256 DS of each zone key with the SEP bit and without REVOKE
    ///    (RFC 4034 §2.1.1, RFC 5011 §3). DNSKEYs without any such key are refused rather than
    ///    read as "no DS": that would turn a signed delegation insecure by accident.
    /// 4. Else (an unsigned child): no DS.
    public static func delegationSigners(child: DomainName, cds: [[UInt8]], cdnskey: [[UInt8]], dnskey: [[UInt8]]) throws -> Set<[UInt8]> {
        if !cds.isEmpty { return try fromCDS(child: child, Set(cds)) }
        if !cdnskey.isEmpty { return try fromCDNSKEY(child: child, Set(cdnskey)) }
        if !dnskey.isEmpty { return try fromDNSKEY(child: child, Set(dnskey)) }
        return []
    }

    /// RFC 8078 §4: `CDNSKEY 0 3 0 AA==`.
    static let cdnskeyDelete: [UInt8] = [0, 0, 3, 0, 0]

    static func fromCDS(child: DomainName, _ rdatas: Set<[UInt8]>) throws -> Set<[UInt8]> {
        var records: [DSData] = []
        for rdata in rdatas.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            do {
                records.append(try DSData(rdata: rdata))
            } catch {
                throw DelegationDiffError(.malformedRecord, "\(child) CDS: \(error); fix the CDS RRset in the child zone")
            }
        }
        if records.contains(where: \.isDeleteRequest) {
            guard records.count == 1 else {
                throw DelegationDiffError(
                    .deleteNotAlone,
                    "\(child) publishes CDS 0 0 0 00 (delete the DS, RFC 8078 §4) together with other CDS records; "
                        + "publish either the delete form alone or the CDS to keep"
                )
            }
            return []
        }
        var accepted: Set<[UInt8]> = []
        var skipped: [DSData] = []
        for record in records {
            guard record.algorithm != 0 else {
                throw DelegationDiffError(
                    .unacceptableDS, "\(child) CDS \(record) has algorithm 0, which is only valid in the delete form 0 0 0 00 (RFC 8078 §4)")
            }
            guard let length = DSPolicy.digestLengths[record.digestType] else {
                skipped.append(record)
                continue
            }
            guard record.digest.count == length else {
                throw DelegationDiffError(
                    .unacceptableDS, "\(child) CDS \(record): a digest of type \(record.digestType) has \(length) octets, not \(record.digest.count)")
            }
            accepted.insert(record.rdata)
        }
        for record in skipped {
            let covered = records.contains {
                $0.keyTag == record.keyTag && $0.algorithm == record.algorithm && DSPolicy.digestLengths[$0.digestType] != nil
            }
            guard covered else {
                throw DelegationDiffError(
                    .unacceptableDS,
                    "\(child) CDS \(record) uses digest type \(record.digestType), which the parent does not accept (RFC 8624 §3.3); "
                        + "publish a CDS with digest type 2 (SHA-256) for key \(record.keyTag)"
                )
            }
        }
        return accepted
    }

    static func fromCDNSKEY(child: DomainName, _ rdatas: Set<[UInt8]>) throws -> Set<[UInt8]> {
        if rdatas.contains(cdnskeyDelete) {
            guard rdatas.count == 1 else {
                throw DelegationDiffError(
                    .deleteNotAlone,
                    "\(child) publishes CDNSKEY 0 3 0 AA== (delete the DS, RFC 8078 §4) together with other CDNSKEY records; "
                        + "publish either the delete form alone or the CDNSKEY to keep"
                )
            }
            return []
        }
        return try Set(rdatas.map { try digest(child: child, "CDNSKEY", $0) })
    }

    static func fromDNSKEY(child: DomainName, _ rdatas: Set<[UInt8]>) throws -> Set<[UInt8]> {
        var result: Set<[UInt8]> = []
        for rdata in rdatas {
            guard let key = try? KEYData(rdata: rdata) else {
                throw DelegationDiffError(.malformedRecord, "\(child) DNSKEY RDATA of \(rdata.count) octets; fix the DNSKEY RRset in the child zone")
            }
            guard key.isZoneKey, key.isSecureEntryPoint, !key.isRevoked, key.algorithm != 0 else { continue }
            result.insert(try digest(child: child, "DNSKEY", rdata))
        }
        guard !result.isEmpty else {
            throw DelegationDiffError(
                .noSecureEntryPoint,
                "\(child) has DNSKEYs but none with the SEP flag (257); publish CDS records, or set the SEP flag on the key the DS should point to"
            )
        }
        return result
    }

    static func digest(child: DomainName, _ type: String, _ rdata: [UInt8]) throws -> [UInt8] {
        do {
            return try DSData(sha256OfDNSKEY: rdata, owner: child).rdata
        } catch {
            throw DelegationDiffError(.unacceptableDS, "\(child) \(type): \(error)")
        }
    }
}

/// The child agent's diff: the RFC 2136 §2.5 changes that make the parent's delegation for a
/// child (``DelegationSnapshot``) hold exactly what the child's apex says (``ChildApex``) — the
/// NS set, glue for in-bailiwick nameservers (RFC 9471), and the DS set (RFC 7344 §4,
/// RFC 8078 §4).
///
/// The operations are minimal: only what differs is added or deleted. A single record goes with
/// §2.5.4 "delete an RR from an RRset"; when nothing of an RRset stays, one §2.5.2 "delete an
/// RRset" does it. Glue no remaining nameserver uses is deleted, but only at names at or below
/// the child. KEY records are never touched (key management is separate), nor is anything
/// outside the child.
///
/// Order, for a reader of the UPDATE (which is atomic anyway, RFC 2136 §3.4.2): NS adds, glue
/// adds, DS adds, then NS, glue and DS deletes — the NS set is never empty in between.
///
/// Refused before anything is sent, with a ``DelegationDiffError`` that says what to fix: an
/// apex without NS, an in-bailiwick nameserver without address (a lame delegation), a DS the
/// parent's ``DSPolicy`` would refuse, sets or changes larger than ``DelegationLimits``.
///
/// Limitations: TTLs are not compared (added records get `ttl`, the parent may impose its own);
/// sibling glue is never managed; whether the DS set matches keys the child actually signs with
/// is the caller's business (RFC 7344 §4.1 asks for checks before a DS change).
public struct DelegationDiff: Sendable, Hashable {
    /// The parent's delegation before the change.
    public let current: DelegationSnapshot
    /// The parent's delegation after it: `current.applying(operations)` equals this.
    public let desired: DelegationSnapshot
    /// The update section to send, in the order above.
    public let operations: [Update.Operation]

    /// True when the parent already holds what the child wants.
    public var isEmpty: Bool { operations.isEmpty }

    /// Computes the changes; added records get `ttl`. `limits` are the parent's limits as far as
    /// the child knows them (the defaults are delegsync's).
    public init(current: DelegationSnapshot, apex: ChildApex, ttl: UInt32, limits: DelegationLimits = DelegationLimits()) throws {
        let child = current.child
        try Self.check(apex, child: child, limits: limits)

        var nsAdds: [Update.Operation] = []
        var nsDeletes: [Update.Operation] = []
        for name in apex.nameservers.sorted() where !current.nameservers.contains(name) {
            nsAdds.append(.add(Record(name: child, type: .ns, ttl: ttl, rdata: name.wire)))
        }
        for name in current.nameservers.sorted() where !apex.nameservers.contains(name) {
            nsDeletes.append(.delete(Record(name: child, type: .ns, ttl: 0, rdata: name.wire)))
        }

        var glueAdds: [Update.Operation] = []
        var glueDeletes: [Update.Operation] = []
        let glueNames = Set(apex.glue.keys).union(current.glue.keys.filter { $0.isSubdomain(of: child) })
        for name in glueNames.sorted() {
            for type in [RRType.a, .aaaa] {
                let have = Self.rdatas(current.glue[name], type)
                let want = Self.rdatas(apex.glue[name], type)
                for rdata in Self.sorted(want.subtracting(have)) {
                    glueAdds.append(.add(Record(name: name, type: type, ttl: ttl, rdata: rdata)))
                }
                let gone = have.subtracting(want)
                if gone.isEmpty { continue }
                if want.isEmpty {
                    glueDeletes.append(.deleteRRset(name, type))
                } else {
                    for rdata in Self.sorted(gone) { glueDeletes.append(.delete(Record(name: name, type: type, ttl: 0, rdata: rdata))) }
                }
            }
        }

        var dsAdds: [Update.Operation] = []
        var dsDeletes: [Update.Operation] = []
        for rdata in Self.sorted(apex.ds.subtracting(current.ds)) {
            dsAdds.append(.add(Record(name: child, type: .ds, ttl: ttl, rdata: rdata)))
        }
        let goneDS = current.ds.subtracting(apex.ds)
        if !goneDS.isEmpty {
            if apex.ds.isEmpty {
                dsDeletes.append(.deleteRRset(child, .ds))
            } else {
                for rdata in Self.sorted(goneDS) { dsDeletes.append(.delete(Record(name: child, type: .ds, ttl: 0, rdata: rdata))) }
            }
        }

        let operations = nsAdds + glueAdds + dsAdds + nsDeletes + glueDeletes + dsDeletes
        guard operations.count <= limits.maxOperations else {
            throw DelegationDiffError(
                .tooLarge,
                "\(child) needs \(operations.count) changes at the parent, which takes at most \(limits.maxOperations) in one UPDATE; "
                    + "change fewer nameservers or keys at a time"
            )
        }

        var glue = current.glue.filter { !$0.key.isSubdomain(of: child) }
        for (name, addresses) in apex.glue { glue[name] = addresses }
        self.current = current
        self.desired = DelegationSnapshot(child: child, nameservers: apex.nameservers, ds: apex.ds, keys: current.keys, glue: glue)
        self.operations = operations
    }

    /// The refusals that do not depend on the parent's current data.
    static func check(_ apex: ChildApex, child: DomainName, limits: DelegationLimits) throws {
        guard apex.child == child else {
            throw DelegationDiffError(.childMismatch, "the child apex is \(apex.child) but the parent's delegation is for \(child)")
        }
        guard !apex.nameservers.isEmpty else {
            throw DelegationDiffError(
                .noNameservers, "\(child) publishes no NS records at its apex; the parent would be left without a delegation. Add NS records to the child zone")
        }
        guard apex.nameservers.count <= limits.maxNameservers else {
            throw DelegationDiffError(
                .tooLarge, "\(child) publishes \(apex.nameservers.count) NS records; the parent takes at most \(limits.maxNameservers)")
        }
        for name in apex.inBailiwickNameservers.sorted() {
            let addresses = apex.glue[name] ?? []
            guard !addresses.isEmpty else {
                throw DelegationDiffError(
                    .missingGlue,
                    "NS \(name) is inside \(child) but the child zone has no A or AAAA for it; the parent would hold a lame delegation (RFC 9471). "
                        + "Add an address for \(name) or remove that NS"
                )
            }
            for address in addresses {
                let size = address.type == .a ? 4 : (address.type == .aaaa ? 16 : nil)
                guard let size, address.rdata.count == size else {
                    throw DelegationDiffError(
                        .malformedRecord, "glue for \(name): \(address.type) with \(address.rdata.count) octets of RDATA; only A (4) and AAAA (16) are glue")
                }
            }
        }
        guard apex.ds.count <= limits.maxDS else {
            throw DelegationDiffError(.tooLarge, "\(child) asks for \(apex.ds.count) DS records; the parent takes at most \(limits.maxDS)")
        }
        for rdata in Self.sorted(apex.ds) {
            guard let ds = try? DSData(rdata: rdata), ds.algorithm != 0, let length = DSPolicy.digestLengths[ds.digestType], ds.digest.count == length else {
                throw DelegationDiffError(
                    .unacceptableDS,
                    "DS RDATA \(rdata.hexString) for \(child) is not a DS the parent accepts (digest type 2 or 4, algorithm not 0, RFC 4034 §5.1)")
            }
        }
    }

    static func rdatas(_ addresses: Set<DelegationSnapshot.GlueAddress>?, _ type: RRType) -> Set<[UInt8]> {
        Set((addresses ?? []).filter { $0.type == type }.map(\.rdata))
    }

    static func sorted(_ rdatas: Set<[UInt8]>) -> [[UInt8]] {
        rdatas.sorted { $0.lexicographicallyPrecedes($1) }
    }
}

/// Why the child agent will not send a delegation change: the kind of problem and a text that
/// tells the child's operator what to fix. Callers switch on ``code``; new codes may be added.
public struct DelegationDiffError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The apex and the parent's snapshot are for different children.
        public static let childMismatch = Code(name: "child mismatch")
        /// The child apex has no NS RRset.
        public static let noNameservers = Code(name: "no nameservers")
        /// An in-bailiwick nameserver has no address in the child zone (RFC 9471).
        public static let missingGlue = Code(name: "missing glue")
        /// A record of the child apex cannot be read.
        public static let malformedRecord = Code(name: "malformed record")
        /// A CDS or CDNSKEY delete form (RFC 8078 §4) shares its RRset with other records.
        public static let deleteNotAlone = Code(name: "delete form not alone")
        /// A DS (or the CDS it comes from) the parent's DS policy would refuse.
        public static let unacceptableDS = Code(name: "unacceptable DS")
        /// DNSKEYs but no zone key with the SEP bit, and no CDS or CDNSKEY.
        public static let noSecureEntryPoint = Code(name: "no secure entry point")
        /// More NS, DS or changes than ``DelegationLimits`` allow.
        public static let tooLarge = Code(name: "too large")
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}
