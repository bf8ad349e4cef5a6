/// An RRset with the RRSIG records that cover it (RFC 4034 §3), as an answer section brings them.
public struct SignedRRset: Sendable, Hashable, CustomStringConvertible {
    public var rrset: RRset
    /// RRSIG records at the RRset's owner whose type covered is the RRset's type.
    public var signatures: [Record]

    public init(rrset: RRset, signatures: [Record] = []) {
        self.rrset = rrset
        self.signatures = signatures
    }

    /// The RRset of `type` at `name` among `records` (class IN), with the RRSIGs there that cover
    /// it; nil when `records` hold no record of that type at that name.
    public init?(_ records: [Record], name: DomainName, type: RRType) {
        let members = records.filter { $0.name == name && $0.type == type && $0.rrClass == .in }
        guard let set = RRset.group(members).first else { return nil }
        self.init(rrset: set, signatures: Self.signatures(in: records, name: name, covering: type))
    }

    /// The RRSIG records at `name` whose type covered (RFC 4034 §3.1.1) is `type`.
    public static func signatures(in records: [Record], name: DomainName, covering type: RRType) -> [Record] {
        records.filter { $0.type == .rrsig && $0.name == name && $0.rdata.count >= 2 && RRType(UInt16($0.rdata[0]) << 8 | UInt16($0.rdata[1])) == type }
    }

    /// The signer's name (RFC 4034 §3.1.7) of the first readable RRSIG among `signatures`: the
    /// zone that signed them.
    public static func signerName(_ signatures: [Record]) -> DomainName? {
        signatures.lazy.filter { $0.type == .rrsig }.compactMap { try? RRSIGData(rdata: $0.rdata).signerName }.first
    }

    /// `name type`, for the texts that say what did not validate.
    public var description: String { "\(rrset.name) \(rrset.type)" }
}

/// RRSIG RDATA (RFC 4034 §3.1) has SIG's layout (RFC 2535 §4.1): ``SIGData`` reads both.
public typealias RRSIGData = SIGData

/// A trust anchor (RFC 4033 §2): DS or DNSKEY records for one zone, taken on trust — the root's
/// from IANA, a zone's from its operator. Validation starts at its zone.
public struct TrustAnchor: Sendable, Hashable {
    public var zone: DomainName
    public var ds: [DSData]
    /// DNSKEY RDATAs.
    public var dnskeys: [KEYData]

    public init(zone: DomainName, ds: [DSData] = [], dnskeys: [KEYData] = []) {
        self.zone = zone
        self.ds = ds
        self.dnskeys = dnskeys
    }

    /// Reads DS and DNSKEY records in zone-file form, one per line (`;` starts a comment), all at
    /// one owner: what `dnssec-dsfromkey` prints, or `dig . DNSKEY +noall +answer`. Throws, saying
    /// which line, for anything else.
    public init(text: String) throws {
        var zone: DomainName? = nil
        var ds: [DSData] = []
        var keys: [KEYData] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.trimmingSpaces.isEmpty else { continue }
            let record: Record
            do {
                record = try Record(line)
            } catch {
                throw DNSWireError(.badPresentation, "trust anchor line \(index + 1): \(error)")
            }
            guard zone == nil || zone == record.name else {
                throw DNSWireError(
                    .badPresentation, "trust anchor line \(index + 1): owner \(record.name), but the anchor is for \(zone!) (one zone per anchor)")
            }
            zone = record.name
            switch record.type {
            case .ds: ds.append(try DSData(rdata: record.rdata))
            case .dnskey: keys.append(try KEYData(rdata: record.rdata))
            default:
                throw DNSWireError(.badPresentation, "trust anchor line \(index + 1): a \(record.type) record; an anchor holds DS or DNSKEY records")
            }
        }
        guard let zone else { throw DNSWireError(.badPresentation, "the trust anchor holds no DS or DNSKEY record") }
        self.init(zone: zone, ds: ds, dnskeys: keys)
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        self.drop { $0 == " " || $0 == "\t" || $0 == "\r" }
    }
}
