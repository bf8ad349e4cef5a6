import DNSWire
import DelegationCore
import SIG0
import TestSupport

/// The scanner's scenario harness (STYLE.md, Unbound-style): a child zone signed on the spot,
/// fake nameservers that serve it (or misbehave), and fake time; ``observe(_:scan:)`` asks them
/// what the agent asks, in the agent's order.
enum ScanScenario {
    static let child = try! DomainName("child.parent.")
    static let parent = try! DomainName("parent.")
    static let ns1 = try! DomainName("ns1.child.parent.")
    static let ns2 = try! DomainName("ns2.child.parent.")
    static let ns3 = try! DomainName("ns3.child.parent.")
    /// 2027-01-15 08:00:00 UTC, the scans' "now".
    static let now: Int64 = 1_800_000_000
    static let day: Int64 = 86400
    /// Signatures valid from a day before `now` to 40 days after.
    static let signer = ZoneSigner(inception: UInt32(now - day), expiration: UInt32(now + 40 * day))

    static func record(_ text: String) -> Record { try! Record(text) }

    static func glue(_ name: DomainName, _ address: String) -> DelegationSnapshot.GlueAddress {
        let record = record("\(name) 3600 IN \(address.contains(":") ? "AAAA" : "A") \(address)")
        return DelegationSnapshot.GlueAddress(type: record.type, rdata: record.rdata)
    }

    /// The child zone's content, signed as BIND and Knot sign it: DNSKEY, CDS and CDNSKEY by
    /// the KSKs, everything else by the ZSK.
    struct Zone {
        var ksks: [ZoneSigner.Key]
        var zsk: ZoneSigner.Key
        var nameservers: [DomainName] = [ns1, ns2]
        /// Addresses by name (A or AAAA by the text's form).
        var addresses: [DomainName: [String]] = [ns1: ["192.0.2.1"], ns2: ["192.0.2.2"]]
        var cds: [Record] = []
        var cdnskey: [Record] = []
        var csync: [Record] = []
        var serial: UInt32 = 2_026_010_101
        /// Keys published in the DNSKEY RRset that sign nothing.
        var idleKeys: [ZoneSigner.Key] = []
        /// Who signs the DNSKEY RRset; nil: the KSKs.
        var keySetSigners: [ZoneSigner.Key]? = nil
        /// Who signs CDS and CDNSKEY; nil: the KSKs.
        var cdsSigners: [ZoneSigner.Key]? = nil
        /// No DNSKEY, no RRSIG at all.
        var unsigned = false
        var signer = ScanScenario.signer

        init(ksks: [ZoneSigner.Key], zsk: ZoneSigner.Key) {
            self.ksks = ksks
            self.zsk = zsk
        }

        /// CDS and CDNSKEY for `keys`.
        mutating func publishCDS(for keys: [ZoneSigner.Key]) {
            cds = keys.map(\.cdsRecord)
            cdnskey = keys.map(\.cdnskeyRecord)
        }

        /// The RFC 8078 §4 delete signal in both RRsets.
        mutating func publishDelete() {
            cds = [record("child.parent. 3600 IN CDS 0 0 0 00")]
            cdnskey = [record("child.parent. 3600 IN CDNSKEY 0 3 0 AA==")]
        }

        var records: [Record] {
            var data = [record("child.parent. 3600 IN SOA ns1.child.parent. hostmaster.child.parent. \(serial) 3600 900 604800 300")]
            data += nameservers.map { Record(name: child, type: .ns, ttl: 3600, rdata: $0.wire) }
            for (name, list) in addresses {
                data += list.map { record("\(name) 3600 IN \($0.contains(":") ? "AAAA" : "A") \($0)") }
            }
            data += csync
            guard !unsigned else { return data + cds + cdnskey }
            var out = signer.signed(data, with: [zsk])
            let keySet = (ksks + [zsk] + idleKeys).map(\.record)
            out += signer.signed(keySet, with: keySetSigners ?? ksks)
            if !cds.isEmpty || !cdnskey.isEmpty { out += signer.signed(cds + cdnskey, with: cdsSigners ?? ksks) }
            return out
        }
    }

    /// One address of one nameserver.
    struct Server {
        var nameserver: DomainName
        var address: String
        var records: [Record]
        var authoritative = true
        /// Does not answer at all.
        var failure: String? = nil
        /// Serves this zone from the closing SOA on (a reload during the scan).
        var afterwards: [Record]? = nil

        init(_ nameserver: DomainName, _ address: String, _ zone: Zone) {
            self.nameserver = nameserver
            self.address = address
            self.records = zone.records
        }
    }

    /// The servers of the usual delegation (ns1 at 192.0.2.1, ns2 at 192.0.2.2), all serving `zone`.
    static func servers(_ zone: Zone) -> [Server] { [Server(ns1, "192.0.2.1", zone), Server(ns2, "192.0.2.2", zone)] }

    /// The parent's delegation: ns1 and ns2 with glue, and DS for `ds`.
    static func delegation(ds: [ZoneSigner.Key], nameservers: [DomainName] = [ns1, ns2]) -> DelegationSnapshot {
        var glue: [DomainName: Set<DelegationSnapshot.GlueAddress>] = [:]
        for (name, address) in [(ns1, "192.0.2.1"), (ns2, "192.0.2.2"), (ns3, "192.0.2.3")] where nameservers.contains(name) {
            glue[name] = [Self.glue(name, address)]
        }
        return DelegationSnapshot(child: child, nameservers: Set(nameservers), ds: Set(ds.map { $0.ds().rdata }), glue: glue)
    }

    /// What the agent's scan asks, answered by the fake servers.
    static func observe(_ servers: [Server], scan: DelegationScan) -> [ScanObservation] {
        var observations = servers.map { server in
            var observation = ScanObservation(nameserver: server.nameserver, address: server.address, failure: server.failure)
            if server.failure == nil {
                for type in DelegationScan.apexQuestions {
                    observation.answers[ScanObservation.Query(child, type)] = answer(server.records, child, type, server.authoritative)
                }
            }
            return observation
        }
        let names = scan.glueNames(in: observations)
        for (index, server) in servers.enumerated() where server.failure == nil {
            for name in names {
                for type in [RRType.a, .aaaa] {
                    observations[index].answers[ScanObservation.Query(name, type)] = answer(server.records, name, type, server.authoritative)
                }
            }
            observations[index].closingSOA = answer(server.afterwards ?? server.records, child, .soa, server.authoritative)
        }
        return observations
    }

    /// An authoritative server's answer from `records`: the RRset and the RRSIGs covering it,
    /// NXDOMAIN for a name that does not exist.
    static func answer(_ records: [Record], _ name: DomainName, _ type: RRType, _ authoritative: Bool) -> ChildServerObservation.Answer {
        let exists = records.contains { $0.name.isSubdomain(of: name) }
        let found = records.filter { $0.name == name && $0.type == type } + SignedRRset.signatures(in: records, name: name, covering: type)
        return ChildServerObservation.Answer(rcode: exists ? .noError : .nxDomain, authoritative: authoritative, records: found)
    }

    /// A scan of `current` with the default policy (3 days, 3 scans) unless given.
    static func scan(_ current: DelegationSnapshot, policy: DelegationScan.Policy = DelegationScan.Policy()) -> DelegationScan {
        DelegationScan(zone: parent, current: current, policy: policy)
    }

    /// Observes `servers` for `scan` and judges at `now`.
    static func judge(
        _ scan: DelegationScan, _ servers: [Server], signaling: [SignalingObservation] = [], bootstrap: BootstrapObservation? = nil, now: Int64 = now
    ) -> ScanOutcome {
        scan.judge(observe(servers, scan: scan), signaling: signaling, bootstrap: bootstrap, now: now)
    }
}
