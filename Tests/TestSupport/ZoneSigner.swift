import DNSWire
import SIG0

/// Signs RRsets as a zone signer does (RFC 4034 §3.1.8.1), so tests can build signed zones of any
/// shape: keys are made on the spot, the canonical form (RFC 4034 §6) is written here from the
/// RFC — independently of ldns, whose validation then checks both.
///
/// Limitation: names inside RDATA are lower-cased only for NS, CNAME, PTR and SOA (RFC 4034
/// §6.2 lists more types; tests use no others).
public struct ZoneSigner: Sendable {
    /// A DNSSEC key pair of `zone`.
    public struct Key: Sendable {
        public let zone: DomainName
        public let privateKey: SIG0PrivateKey
        public let dnskey: KEYData

        public init(zone: DomainName, privateKey: SIG0PrivateKey, dnskey: KEYData) {
            self.zone = zone
            self.privateKey = privateKey
            self.dnskey = dnskey
        }

        /// The same key pair with other DNSKEY flags (e.g. REVOKE set).
        public func with(flags: UInt16) -> Key {
            Key(zone: zone, privateKey: privateKey, dnskey: KEYData(flags: flags, algorithm: dnskey.algorithm, publicKey: dnskey.publicKey))
        }

        public var keyTag: UInt16 { dnskey.keyTag }
        public var algorithm: UInt8 { dnskey.algorithm }
        /// The DNSKEY record (TTL 3600).
        public var record: Record { Record(name: zone, type: .dnskey, ttl: 3600, rdata: dnskey.rdata) }
        /// The DS of this key (SHA-256 unless asked otherwise).
        public func ds(digestType: UInt8 = DSData.sha256) -> DSData { try! DSData(dnskey: dnskey.rdata, owner: zone, digestType: digestType) }
        /// The DS record at the zone's name.
        public func dsRecord(digestType: UInt8 = DSData.sha256) -> Record { Record(name: zone, type: .ds, ttl: 3600, rdata: ds(digestType: digestType).rdata) }
        /// The CDS record (RFC 7344 §3.1) for this key.
        public var cdsRecord: Record { Record(name: zone, type: .cds, ttl: 3600, rdata: ds().rdata) }
        /// The CDNSKEY record (RFC 7344 §3.2) for this key.
        public var cdnskeyRecord: Record { Record(name: zone, type: .cdnskey, ttl: 3600, rdata: dnskey.rdata) }
    }

    public let inception: UInt32
    public let expiration: UInt32

    /// Signatures valid from `inception` to `expiration` (Unix seconds).
    public init(inception: UInt32, expiration: UInt32) {
        self.inception = inception
        self.expiration = expiration
    }

    /// A new key of `zone`: flags 257 (KSK) or 256 (ZSK).
    public static func key(_ zone: DomainName, flags: UInt16 = 257, algorithm: SIG0Algorithm = .ecdsaP256SHA256) -> Key {
        let privateKey = try! SIG0PrivateKey.generate(algorithm)
        return Key(zone: zone, privateKey: privateKey, dnskey: KEYData(flags: flags, algorithm: algorithm.rawValue, publicKey: privateKey.publicKey))
    }

    /// The RRSIG by `key` over the RRset `records` (one owner, type and class), with `labels` and
    /// `signer` as a signer would write them unless given.
    public func sign(_ records: [Record], with key: Key, labels: UInt8? = nil, signer: DomainName? = nil) -> Record {
        let first = records[0]
        var data = RRSIGData(
            typeCovered: first.type, algorithm: key.algorithm, labels: labels ?? Self.labels(first.name), originalTTL: first.ttl,
            expiration: expiration, inception: inception, keyTag: key.keyTag, signerName: (signer ?? key.zone).lowercased, signature: [])
        var signed = data.rdataWithoutSignature
        let owner = first.name.lowercased.wire
        let rdatas = Set(records.map { Self.canonical($0) }).sorted { $0.lexicographicallyPrecedes($1) }
        for rdata in rdatas {
            signed += owner
            signed += [
                UInt8(first.type.rawValue >> 8), UInt8(first.type.rawValue & 0xFF), UInt8(first.rrClass.rawValue >> 8), UInt8(first.rrClass.rawValue & 0xFF),
            ]
            signed += [UInt8(first.ttl >> 24), UInt8(first.ttl >> 16 & 0xFF), UInt8(first.ttl >> 8 & 0xFF), UInt8(first.ttl & 0xFF)]
            signed += [UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        }
        data.signature = try! key.privateKey.sign(signed)
        return Record(name: first.name, type: .rrsig, ttl: first.ttl, rdata: data.rdata)
    }

    /// The RRSIG Labels field for an owner (RFC 4034 §3.1.3): its labels but a leading `*`.
    static func labels(_ owner: DomainName) -> UInt8 {
        UInt8(owner.labelCount - (owner.firstLabel.map { Array($0) == Array("*".utf8) } == true ? 1 : 0))
    }

    /// `records` with an RRSIG by each key for every RRset among them.
    public func signed(_ records: [Record], with keys: [Key]) -> [Record] {
        var out = records
        for set in RRset.group(records.filter { $0.type != .rrsig }) {
            for key in keys { out.append(sign(set.records, with: key)) }
        }
        return out
    }

    /// The NSEC chain of a zone (RFC 4034 §4, §6.1): one NSEC per owner name of `records` (the
    /// apex's included; names below a delegation are glue and get none), each listing the types
    /// there plus RRSIG and NSEC, TTL 300, signed by `key`.
    public func nsecChain(_ records: [Record], zone: DomainName, key: Key) -> [Record] {
        let owners = authoritativeOwners(records, zone: zone)
        var chain: [Record] = []
        for (index, owner) in owners.enumerated() {
            let next = owners[(index + 1) % owners.count]
            let types = Set(records.filter { $0.name == owner }.map(\.type)).union([.rrsig, .nsec])
            chain.append(Record(name: owner, type: .nsec, ttl: 300, rdata: NSECData(nextName: next, types: Array(types)).rdata))
        }
        return signed(chain, with: [key])
    }

    /// The NSEC3 chain of a zone (RFC 5155 §7.1): SHA-1, `iterations`, `salt`; with `optOut`
    /// the flag is set and delegations without DS get no NSEC3. Empty non-terminals get one
    /// (an empty bit map). TTL 300, signed by `key`.
    public func nsec3Chain(_ records: [Record], zone: DomainName, key: Key, iterations: UInt16 = 0, salt: [UInt8] = [], optOut: Bool = false) -> [Record] {
        var owners = Set(authoritativeOwners(records, zone: zone))
        for owner in owners {
            var ancestor = owner.parent
            while ancestor.isSubdomain(of: zone), ancestor != zone {
                owners.insert(ancestor)
                ancestor = ancestor.parent
            }
        }
        var entries: [(hash: [UInt8], types: [RRType])] = []
        for owner in owners {
            let types = Set(records.filter { $0.name == owner }.map(\.type))
            let unsignedDelegation = types.contains(.ns) && !types.contains(.soa) && !types.contains(.ds)
            if optOut && unsignedDelegation { continue }
            let listed = types.isEmpty ? [] : types.union(unsignedDelegation ? [] : [.rrsig])
            entries.append((NSEC3Data.hash(owner, iterations: iterations, salt: salt), Array(listed)))
        }
        entries.sort { $0.hash.lexicographicallyPrecedes($1.hash) }
        var chain: [Record] = []
        for (index, entry) in entries.enumerated() {
            let next = entries[(index + 1) % entries.count].hash
            let data = NSEC3Data(flags: optOut ? NSEC3Data.optOut : 0, iterations: iterations, salt: salt, nextHashedOwner: next, types: entry.types)
            let owner = try! DomainName(labels: [Array(NSEC3Data.base32Hex(entry.hash).utf8)] + zone.labels.map(Array.init))
            chain.append(Record(name: owner, type: .nsec3, ttl: 300, rdata: data.rdata))
        }
        return signed(chain, with: [key])
    }

    /// The owner names of `records` that are the zone's authoritative data or its delegation
    /// points (not the glue below them), in canonical order.
    func authoritativeOwners(_ records: [Record], zone: DomainName) -> [DomainName] {
        let cuts = Set(records.filter { $0.type == .ns && $0.name != zone }.map(\.name))
        let owners = Set(records.filter { $0.type != .rrsig }.map(\.name)).filter { name in
            name.isSubdomain(of: zone) && !cuts.contains { name != $0 && name.isSubdomain(of: $0) }
        }
        return owners.sorted()
    }

    /// RDATA in canonical form (RFC 4034 §6.2): names lower-cased for the types used here.
    static func canonical(_ record: Record) -> [UInt8] {
        switch record.type {
        case .ns, .cname, .ptr:
            return (try? DomainName.read(from: record.rdata, at: 0).name.lowercased.wire) ?? record.rdata
        case .soa:
            guard let (mname, next) = try? DomainName.read(from: record.rdata, at: 0),
                let (rname, rest) = try? DomainName.read(from: record.rdata, at: next)
            else { return record.rdata }
            return mname.lowercased.wire + rname.lowercased.wire + Array(record.rdata[rest...])
        default:
            return record.rdata
        }
    }
}
