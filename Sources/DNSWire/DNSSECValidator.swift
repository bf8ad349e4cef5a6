/// What validation found (RFC 4035 §4.3): secure, insecure or bogus, with the reason.
public enum DNSSECVerdict: Sendable, Hashable, CustomStringConvertible {
    /// The RRset validated; `signers` are the keys whose signature verified at the check time.
    case secure(signers: [KEYData])
    /// Nothing to validate against: the anchor has no DS (an unsigned delegation) or only
    /// algorithms and digest types not supported here (RFC 4035 §5.2).
    case insecure(String)
    /// The signatures or the chain do not validate; the text says what failed.
    case bogus(String)

    public var isSecure: Bool {
        if case .secure = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .secure(let signers): "secure (signed by key \(signers.map { String($0.keyTag) }.joined(separator: ", ")))"
        case .insecure(let reason): "insecure: \(reason)"
        case .bogus(let reason): "bogus: \(reason)"
        }
    }
}

/// Why a step of validation did not end secure: insecure or bogus, and what failed.
public struct DNSSECFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public let insecure: Bool
    public let reason: String

    public static func bogus(_ reason: String) -> DNSSECFailure { DNSSECFailure(insecure: false, reason: reason) }
    public static func insecure(_ reason: String) -> DNSSECFailure { DNSSECFailure(insecure: true, reason: reason) }

    public var verdict: DNSSECVerdict { insecure ? .insecure(reason) : .bogus(reason) }
    public var description: String { verdict.description }

    /// The same failure with `context: ` before the reason.
    func within(_ context: String) -> DNSSECFailure { DNSSECFailure(insecure: insecure, reason: "\(context): \(reason)") }
}

/// A zone's DNSKEY RRset authenticated from a trust anchor or its parent's DS (RFC 4035 §5.2).
public struct AuthenticatedKeys: Sendable, Hashable {
    public var zone: DomainName
    /// Every key of the RRset that may verify the zone's signatures (zone key bit, protocol 3,
    /// not revoked; RFC 4034 §2.1.1, RFC 5011 §3).
    public var zoneKeys: [KEYData]
    /// The keys the anchor points at whose signature over the DNSKEY RRset verified: the
    /// secure entry points actually in use.
    public var entryKeys: [KEYData]
}

/// How one DS record stands against a zone's DNSKEY RRset at the check time; what a parent
/// needs to know before it publishes the DS (RFC 7344 §4.1 Continuity; RFC 4035 §2.2 and
/// RFC 6840 §5.11: every algorithm in the DS RRset must sign the zone).
public enum EntryPoint: Sendable, Hashable, CustomStringConvertible {
    /// The DS matches a zone key whose signature over the DNSKEY RRset verifies.
    case signsKeySet(KEYData)
    /// The DS matches a key, but no valid signature of that key covers the DNSKEY RRset.
    case keyDoesNotSign(KEYData, String)
    /// A key with the DS's tag and algorithm is published, but its digest differs.
    case digestMismatch(KEYData)
    /// No key with the DS's tag and algorithm is published.
    case noKey
    /// The digest type or algorithm is not one validated here.
    case unsupported(String)

    public var description: String {
        switch self {
        case .signsKeySet(let key): "matches key \(key.keyTag), which signs the DNSKEY RRset"
        case .keyDoesNotSign(let key, let why): "matches key \(key.keyTag), which does not sign the DNSKEY RRset (\(why))"
        case .digestMismatch(let key): "key \(key.keyTag) is published, but its digest differs from the DS (a digest mismatch)"
        case .noKey: "no DNSKEY with that key tag and algorithm is published"
        case .unsupported(let why): why
        }
    }
}

/// DNSSEC validation (RFC 4035 §5) over records already fetched: no I/O, the check time a
/// parameter. The cryptography, canonical ordering and validity window are ldns's
/// (`ldns_verify_rrsig_time`); the checks ldns leaves out are made here: the RRSIG's owner,
/// class, signer (the zone) and label count (RFC 4035 §5.3.1), and the DNSKEY's zone key bit,
/// protocol and REVOKE bit (RFC 4034 §2.1.1, RFC 5011 §3). DS digests are computed by
/// ``DSData`` (SHA-256 and SHA-384).
///
/// One engine for every caller: the scanner (a child's CDS, CDNSKEY and CSYNC under the DS the
/// parent holds), RFC 9615 signaling names (a chain from a configured anchor), the parent's
/// continuity checks (``entryPoint(_:dnskey:now:)``).
///
/// Denial of existence (NSEC, NSEC3 with opt-out, wildcards) is in
/// ``proveDenial(of:_:nameError:records:zone:keys:now:)``.
///
/// ## Limitations
/// - ``validate(_:chain:anchor:now:)`` takes a chain of DS and DNSKEY RRsets: an unsigned
///   delegation inside it is "missing chain" (bogus), not insecure; wildcard-expanded answers
///   are refused there (callers with the authority section use ``verify(_:zone:keys:now:allowingWildcard:)``
///   and the denial proofs).
/// - Algorithms validated: 8, 10, 13, 14, 15, 16 (RFC 8624 §3.1); DS digest types 2 and 4.
public enum DNSSECValidator {
    /// Algorithms validated here (RFC 8624 §3.1 MUST and RECOMMENDED for validation, without SHA-1).
    public static let algorithms: Set<UInt8> = [8, 10, 13, 14, 15, 16]

    /// Which key must have signed the data (RFC 7344 §4.1 "Signer").
    public enum Signer: Sendable, Hashable {
        /// Any key of the authenticated DNSKEY RRset: ordinary validation.
        case zoneKey
        /// A key the anchor (the parent's current DS) points at: what RFC 7344 §4.1 asks of
        /// CDS and CDNSKEY.
        case entryKey
    }

    /// One zone of a chain of trust: its DNSKEY RRset and the DS RRset its parent serves for it.
    public struct ChainLink: Sendable, Hashable {
        public var zone: DomainName
        /// The DS RRset of `zone` as the parent zone serves it, with the parent's RRSIGs; nil for
        /// the anchor's zone.
        public var ds: SignedRRset?
        public var dnskey: SignedRRset

        public init(zone: DomainName, ds: SignedRRset?, dnskey: SignedRRset) {
            self.zone = zone
            self.ds = ds
            self.dnskey = dnskey
        }
    }

    // MARK: One RRset

    /// RFC 4035 §5.3: the keys among `keys` whose RRSIG over `set` verifies at `now` (Unix
    /// seconds); at least one, or the failure with every signature's reason.
    /// With `allowingWildcard`, an RRSIG whose label count is below the owner's (an answer
    /// synthesized from a wildcard, RFC 4035 §5.3.2) is verified over the wildcard owner; the
    /// caller must then prove that the owner itself does not exist
    /// (``proveWildcardExpansion(of:closestEncloser:records:zone:keys:now:)``, with
    /// ``wildcardEncloser(_:)``).
    public static func verify(
        _ set: SignedRRset, zone: DomainName, keys: [KEYData], now: Int64, allowingWildcard: Bool = false
    ) -> Result<[KEYData], DNSSECFailure> {
        let rrset = set.rrset
        guard rrset.name.isSubdomain(of: zone) else { return .failure(.bogus("\(set) is not in the zone \(zone)")) }
        guard !rrset.rdatas.isEmpty else { return .failure(.bogus("\(set) is empty")) }
        guard !set.signatures.isEmpty else {
            return .failure(.bogus("\(set) has no RRSIG, but \(zone) is signed (RFC 4035 §5.3)"))
        }
        let usable = keys.filter(isUsable)
        let records = rrset.records
        var signers: [KEYData] = []
        var problems: [String] = []
        for signature in set.signatures {
            guard signature.type == .rrsig, signature.name == rrset.name, signature.rrClass == rrset.rrClass,
                let data = try? RRSIGData(rdata: signature.rdata), data.typeCovered == rrset.type
            else {
                problems.append("an RRSIG that does not cover \(set) or cannot be read")
                continue
            }
            let label = "the RRSIG by key \(data.keyTag) (algorithm \(data.algorithm))"
            guard data.signerName == zone else {
                problems.append("\(label) names the signer \(data.signerName), not the zone \(zone)")
                continue
            }
            var signed = records
            // RFC 4034 §3.1.3: the Labels field counts neither the root nor a leading `*`.
            let ownerLabels = rrset.name.labelCount - (rrset.name.firstLabel.map { Array($0) == Array("*".utf8) } == true ? 1 : 0)
            if Int(data.labels) != ownerLabels {
                guard allowingWildcard, Int(data.labels) < ownerLabels, let wildcard = wildcardOwner(rrset.name, labels: Int(data.labels)) else {
                    problems.append(
                        "\(label) has a label count of \(data.labels) for an owner of \(ownerLabels) labels (a wildcard expansion is accepted only with its denial proof, RFC 4035 §5.3.1, §5.3.4)"
                    )
                    continue
                }
                signed = records.map { Record(name: wildcard, type: $0.type, rrClass: $0.rrClass, ttl: $0.ttl, rdata: $0.rdata) }
            }
            let candidates = usable.filter { $0.algorithm == data.algorithm && $0.keyTag == data.keyTag }
            guard !candidates.isEmpty else {
                problems.append("\(label): no trusted DNSKEY of \(zone) has that tag and algorithm")
                continue
            }
            var why: [String] = []
            for key in candidates {
                let dnskey = Record(name: zone, type: .dnskey, ttl: rrset.ttl, rdata: key.rdata)
                switch LDNS.verify(signed, rrsig: wildcardRRSIG(signature, owner: signed[0].name), key: dnskey, now: now) {
                case .valid:
                    if !signers.contains(key) { signers.append(key) }
                case .expired: why.append("expired at \(LDNS.timeText(data.expiration))")
                case .notYetValid: why.append("not valid before \(LDNS.timeText(data.inception))")
                case .invertedWindow: why.append("expires (\(LDNS.timeText(data.expiration))) before its inception (\(LDNS.timeText(data.inception)))")
                case .badSignature: why.append("the signature does not verify")
                case .unsupportedAlgorithm: why.append("algorithm \(data.algorithm) is not supported")
                case .other(let text): why.append(text)
                }
            }
            if !why.isEmpty { problems.append("\(label): \(why.joined(separator: ", "))") }
        }
        guard signers.isEmpty else { return .success(signers) }
        let at = LDNS.timeText(UInt32(truncatingIfNeeded: now))
        return .failure(.bogus("\(set) does not validate at \(at): \(problems.joined(separator: "; "))"))
    }

    /// `*.` and the rightmost `labels` labels of `name` (RFC 4035 §5.3.2).
    static func wildcardOwner(_ name: DomainName, labels: Int) -> DomainName? {
        var encloser = name
        while encloser.labelCount > labels { encloser = encloser.parent }
        return try? encloser.prepending(Array("*".utf8))
    }

    /// The RRSIG moved to the owner its records are verified at.
    static func wildcardRRSIG(_ signature: Record, owner: DomainName) -> Record {
        signature.name == owner ? signature : Record(name: owner, type: signature.type, rrClass: signature.rrClass, ttl: signature.ttl, rdata: signature.rdata)
    }

    /// The closest encloser of an RRset synthesized from a wildcard (its RRSIGs' label count is
    /// below the owner's, RFC 4035 §5.3.4): the owner cut to that many labels; nil for an
    /// ordinary RRset.
    public static func wildcardEncloser(_ set: SignedRRset) -> DomainName? {
        guard let labels = set.signatures.compactMap({ try? RRSIGData(rdata: $0.rdata).labels }).min(), Int(labels) < set.rrset.name.labelCount else {
            return nil
        }
        var encloser = set.rrset.name
        while encloser.labelCount > Int(labels) { encloser = encloser.parent }
        return encloser
    }

    /// A key that may verify signatures: protocol 3, the zone key bit, not revoked.
    static func isUsable(_ key: KEYData) -> Bool {
        key.protocol == 3 && key.isZoneKey && !key.isRevoked
    }

    // MARK: A zone's keys

    /// RFC 4035 §5.2: the DNSKEY RRset of the anchor's zone, authenticated by the anchor's DS
    /// records (a key whose digest a DS carries signed the RRset) or its DNSKEYs (one of them
    /// signed it). Insecure when the anchor is empty or names only algorithms and digest types
    /// not validated here; bogus when no anchored key signed the RRset.
    public static func authenticate(_ dnskey: SignedRRset, anchor: TrustAnchor, now: Int64) -> Result<AuthenticatedKeys, DNSSECFailure> {
        let zone = anchor.zone
        guard !anchor.ds.isEmpty || !anchor.dnskeys.isEmpty else {
            return .failure(.insecure("no DS for \(zone): the delegation is not signed"))
        }
        guard dnskey.rrset.type == .dnskey, dnskey.rrset.name == zone else {
            return .failure(.bogus("missing chain: no DNSKEY RRset of \(zone) (got \(dnskey))"))
        }
        let published = dnskey.rrset.rdatas.compactMap { try? KEYData(rdata: $0) }
        var candidates = anchor.dnskeys.filter { isUsable($0) && algorithms.contains($0.algorithm) }
        var mismatches: [String] = []
        let usableDS = anchor.ds.filter { DSData.computableDigestTypes.contains($0.digestType) && algorithms.contains($0.algorithm) }
        for ds in usableDS {
            switch match(ds, published: published, owner: zone) {
            case .found(let key) where isUsable(key): if !candidates.contains(key) { candidates.append(key) }
            case .found(let key): mismatches.append("DS \(ds.keyTag) points at key \(key.keyTag), which is not a usable zone key (flags \(key.flags))")
            case .missing(let point): mismatches.append("DS \(ds.keyTag)/\(ds.algorithm): \(point)")
            }
        }
        if candidates.isEmpty {
            if usableDS.isEmpty && anchor.dnskeys.isEmpty {
                let listed = anchor.ds.map { "\($0.keyTag) algorithm \($0.algorithm) digest type \($0.digestType)" }.joined(separator: ", ")
                return .failure(.insecure("the DS records of \(zone) (\(listed)) use only algorithms or digest types not validated here"))
            }
            let why = mismatches.isEmpty ? "no anchored key is usable" : mismatches.joined(separator: "; ")
            return .failure(.bogus("no DNSKEY of \(zone) matches its DS: \(why)"))
        }
        switch verify(dnskey, zone: zone, keys: candidates, now: now) {
        case .failure(let failure):
            return .failure(failure.within("the DNSKEY RRset of \(zone) is not signed by a key its DS points at"))
        case .success(let entryKeys):
            return .success(AuthenticatedKeys(zone: zone, zoneKeys: published.filter(isUsable), entryKeys: entryKeys))
        }
    }

    /// The published key a DS points at: same tag, algorithm and digest (RFC 4034 §5.1.4).
    static func match(_ ds: DSData, published: [KEYData], owner: DomainName) -> DSMatch {
        let sameTag = published.filter { $0.keyTag == ds.keyTag && $0.algorithm == ds.algorithm }
        for key in sameTag where (try? DSData(dnskey: key.rdata, owner: owner, digestType: ds.digestType)) == ds {
            return .found(key)
        }
        return .missing(sameTag.first.map(EntryPoint.digestMismatch) ?? .noKey)
    }

    enum DSMatch {
        case found(KEYData)
        case missing(EntryPoint)
    }

    /// `target` signed by `dnskey`'s zone, whose keys `anchor` authenticates: secure with the
    /// signers, insecure (no DS) or bogus with the reason. With `signer` ``Signer/entryKey``
    /// only keys the anchor points at count (RFC 7344 §4.1 for CDS and CDNSKEY).
    public static func validate(_ target: SignedRRset, dnskey: SignedRRset, anchor: TrustAnchor, now: Int64, signer: Signer = .zoneKey) -> DNSSECVerdict {
        let keys: AuthenticatedKeys
        switch authenticate(dnskey, anchor: anchor, now: now) {
        case .failure(let failure): return failure.verdict
        case .success(let authenticated): keys = authenticated
        }
        let allowed = signer == .entryKey ? keys.entryKeys : keys.zoneKeys
        switch verify(target, zone: anchor.zone, keys: allowed, now: now) {
        case .success(let signers): return .secure(signers: signers)
        case .failure(let failure):
            guard signer == .entryKey else { return failure.verdict }
            let tags = keys.entryKeys.map { String($0.keyTag) }.joined(separator: ", ")
            return failure.within("signed by a key other than the one(s) the DS points at (\(tags); RFC 7344 §4.1)").verdict
        }
    }

    /// RFC 4035 §5: `target` validated down a chain from `anchor` — the anchor's zone first, then
    /// each zone below it, each authenticated by the DS RRset its parent signs. Bogus with
    /// "missing chain" when a link is absent.
    public static func validate(_ target: SignedRRset, chain: [ChainLink], anchor: TrustAnchor, now: Int64) -> DNSSECVerdict {
        guard let first = chain.first, first.zone == anchor.zone else {
            return .bogus("missing chain: it must start at the trust anchor's zone \(anchor.zone)")
        }
        var keys: AuthenticatedKeys
        switch authenticate(first.dnskey, anchor: anchor, now: now) {
        case .failure(let failure): return failure.verdict
        case .success(let authenticated): keys = authenticated
        }
        for link in chain.dropFirst() {
            guard link.zone.isSubdomain(of: keys.zone), link.zone != keys.zone else {
                return .bogus("missing chain: \(link.zone) is not below \(keys.zone)")
            }
            guard let ds = link.ds, ds.rrset.type == .ds, ds.rrset.name == link.zone else {
                return .bogus("missing chain: no DS RRset for \(link.zone) in \(keys.zone)")
            }
            if case .failure(let failure) = verify(ds, zone: keys.zone, keys: keys.zoneKeys, now: now) { return failure.verdict }
            let records = ds.rrset.rdatas.compactMap { try? DSData(rdata: $0) }
            switch authenticate(link.dnskey, anchor: TrustAnchor(zone: link.zone, ds: records), now: now) {
            case .failure(let failure): return failure.verdict
            case .success(let authenticated): keys = authenticated
            }
        }
        guard target.rrset.name.isSubdomain(of: keys.zone) else {
            return .bogus("missing chain: \(target) is not in \(keys.zone), the last zone of the chain")
        }
        switch verify(target, zone: keys.zone, keys: keys.zoneKeys, now: now) {
        case .success(let signers): return .secure(signers: signers)
        case .failure(let failure): return failure.verdict
        }
    }

    // MARK: Continuity

    /// How `ds` stands against the DNSKEY RRset `dnskey` at `now`: whether the key it points at
    /// is published, a usable zone key, and signs the RRset.
    public static func entryPoint(_ ds: DSData, dnskey: SignedRRset, now: Int64) -> EntryPoint {
        guard DSData.computableDigestTypes.contains(ds.digestType) else {
            return .unsupported("digest type \(ds.digestType) is not checked here (only 2, SHA-256, and 4, SHA-384)")
        }
        guard algorithms.contains(ds.algorithm) else { return .unsupported("algorithm \(ds.algorithm) is not validated here") }
        let zone = dnskey.rrset.name
        let published = dnskey.rrset.rdatas.compactMap { try? KEYData(rdata: $0) }
        switch match(ds, published: published, owner: zone) {
        case .missing(let point):
            return point
        case .found(let key):
            guard isUsable(key) else { return .keyDoesNotSign(key, "flags \(key.flags): not a zone key, or revoked") }
            switch verify(dnskey, zone: zone, keys: [key], now: now) {
            case .success: return .signsKeySet(key)
            case .failure(let failure): return .keyDoesNotSign(key, failure.reason)
            }
        }
    }
}
