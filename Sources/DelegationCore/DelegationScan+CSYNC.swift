import DNSWire

extension DelegationScan {
    /// The NS part's result: the part, and the NS set and glue to hold when it changes.
    struct NSJudgement {
        var part: ScanOutcome.Part
        var nameservers: Set<DomainName>? = nil
        var glue: [DomainName: Set<DelegationSnapshot.GlueAddress>]? = nil
    }

    /// The types a CSYNC may list for delegsync to copy (RFC 7477 §3.2).
    static let csyncTypes: Set<RRType> = [.ns, .a, .aaaa]

    /// CSYNC (RFC 7477 §3, RFC 9975): one record, the same everywhere, known flags and types,
    /// `immediate`, `soaminimum`, a stable SOA serial, every RRset used DNSSEC-secure; then the
    /// NS RRset and the in-bailiwick A/AAAA are copied.
    func judgeCSYNC(_ observations: [ScanObservation], now: Int64) -> NSJudgement {
        let rdatas: Set<[UInt8]>
        switch consistent(observations, child, .csync, rule: "csync-inconsistent") {
        case .failure(let violation): return NSJudgement(part: .refused(violation))
        case .success(let found): rdatas = found
        }
        guard !rdatas.isEmpty else { return NSJudgement(part: .unchanged("\(child) publishes no CSYNC")) }
        func refuse(_ rule: String, _ text: String) -> NSJudgement { NSJudgement(part: .refused(PolicyViolation(rule: rule, text))) }
        guard rdatas.count == 1, let rdata = rdatas.first else {
            return refuse("csync-multiple", "\(child) publishes \(rdatas.count) CSYNC records; a parent must not process more than one (RFC 7477 §2)")
        }
        let csync: CSYNCData
        do {
            csync = try CSYNCData(rdata: rdata)
        } catch {
            return refuse("csync-malformed", "\(child) CSYNC cannot be read: \(error)")
        }
        guard csync.flags & ~CSYNCData.knownFlags == 0 else {
            return refuse("csync-unknown-flag", "\(child) CSYNC \(csync) sets flags unknown to RFC 7477; a parent must not process it (RFC 7477 §2.1.1)")
        }
        let unknown = csync.types.filter { !Self.csyncTypes.contains($0) }
        guard unknown.isEmpty else {
            return refuse(
                "csync-unknown-type",
                "\(child) CSYNC \(csync) lists \(unknown.map(\.description).joined(separator: ", ")); delegsync copies only NS, A and AAAA and must then not act at all (RFC 7477 §3.1)"
            )
        }
        guard csync.isImmediate else {
            return refuse(
                "csync-not-immediate",
                "\(child) CSYNC \(csync) lacks the immediate flag: RFC 7477 §2.1.1.1 waits for the zone administrator's approval out of band, which delegsync does not offer; set flag 1"
            )
        }
        guard !current.ds.isEmpty else {
            return refuse("csync-needs-dnssec", "\(child) is not signed at the parent (no DS): CSYNC and the data it points at must validate (RFC 7477 §3)")
        }
        for observation in observations {
            if let violation = serials(observation, csync: csync, now: now) { return NSJudgement(part: .refused(violation)) }
        }

        var nameservers = current.nameservers
        if csync.types.contains(.ns) {
            switch copiedNameservers(observations, now: now) {
            case .failure(let violation): return NSJudgement(part: .refused(violation))
            case .success(let names): nameservers = names
            }
        }
        var glue: [DomainName: Set<DelegationSnapshot.GlueAddress>] = [:]
        let addressTypes = csync.types.filter { $0 == .a || $0 == .aaaa }
        for name in nameservers.filter({ $0.isSubdomain(of: child) }).sorted() {
            var addresses = (current.glue[name] ?? []).filter { !addressTypes.contains($0.type) }
            for type in addressTypes {
                switch copiedAddresses(observations, name, type, now: now) {
                case .failure(let violation): return NSJudgement(part: .refused(violation))
                case .success(let found): addresses.formUnion(found.map { DelegationSnapshot.GlueAddress(type: type, rdata: $0) })
                }
            }
            guard !addresses.isEmpty else {
                return refuse(
                    "csync-missing-glue",
                    "NS \(name) is inside \(child) but would be left without A or AAAA at the parent (RFC 7477 §3.2.2); publish its address in the child zone")
            }
            glue[name] = addresses
        }
        let newNS = nameservers != current.nameservers
        let newGlue =
            nameservers.filter { $0.isSubdomain(of: child) }.contains { glue[$0] != current.glue[$0] }
            || current.glue.keys.contains { $0.isSubdomain(of: child) && glue[$0] == nil }
        guard newNS || newGlue else {
            return NSJudgement(part: .unchanged("the parent already holds the NS RRset and glue \(child)'s CSYNC \(csync) points at"))
        }
        let shown = nameservers.sorted().map(\.description).joined(separator: ", ")
        return NSJudgement(part: .change("CSYNC \(csync) (RFC 7477): NS RRset {\(shown)} with its in-bailiwick glue"), nameservers: nameservers, glue: glue)
    }

    /// RFC 7477 §3.1: the SOA and the CSYNC validate, the serial did not move during the scan,
    /// and with `soaminimum` it is at least the CSYNC's (RFC 1982 arithmetic).
    func serials(_ observation: ScanObservation, csync: CSYNCData, now: Int64) -> PolicyViolation? {
        for type in [RRType.soa, .csync] {
            if let violation = validated(observation, type, anchor: currentAnchor, signer: .zoneKey, now: now, rule: "csync-bogus") { return violation }
        }
        let soa = observation.answers[ScanObservation.Query(child, .soa)]?.records.first { $0.type == .soa && $0.name == child }
        let closing = observation.closingSOA?.records.first { $0.type == .soa && $0.name == child }
        guard let soa, let closing, let serial = try? SOAData.serial(rdata: soa.rdata), let after = try? SOAData.serial(rdata: closing.rdata) else {
            return PolicyViolation(
                rule: "csync-serial-changed", "\(observation.server) served no readable SOA for \(child) before and after the scan (RFC 7477 §3.1)")
        }
        guard serial == after else {
            return PolicyViolation(
                rule: "csync-serial-changed",
                "\(observation.server) served SOA serial \(serial), then \(after) during the scan; the zone changed, try again (RFC 7477 §3.1)")
        }
        if csync.requiresSOAMinimum, !SOAData.serial(serial, isAtLeast: csync.soaSerial) {
            return PolicyViolation(
                rule: "csync-soaminimum",
                "\(observation.server) serves SOA serial \(serial), below the CSYNC's \(csync.soaSerial) with soaminimum: it has not loaded the new zone yet (RFC 7477 §2.1.1.2)"
            )
        }
        return nil
    }

    /// RFC 7477 §3.2.1: the NS RRset at the apex, the same and secure everywhere, not empty.
    func copiedNameservers(_ observations: [ScanObservation], now: Int64) -> Result<Set<DomainName>, PolicyViolation> {
        let rdatas: Set<[UInt8]>
        switch consistent(observations, child, .ns, rule: "csync-ns-inconsistent") {
        case .failure(let violation): return .failure(violation)
        case .success(let found): rdatas = found
        }
        guard !rdatas.isEmpty else {
            return .failure(PolicyViolation(rule: "csync-no-ns", "\(child) serves no NS RRset; the parent must not change the NS RRset then (RFC 7477 §3.2.1)"))
        }
        for observation in observations {
            if let violation = validated(observation, .ns, anchor: currentAnchor, signer: .zoneKey, now: now, rule: "csync-bogus") {
                return .failure(violation)
            }
        }
        var names: Set<DomainName> = []
        for rdata in rdatas {
            guard let (name, next) = try? DomainName.read(from: rdata, at: 0), next == rdata.count else {
                return .failure(PolicyViolation(rule: "csync-malformed", "an NS record of \(child) is not a name"))
            }
            names.insert(name)
        }
        return .success(names)
    }

    /// RFC 7477 §3.2.2: `type` at an in-bailiwick NS name, the same everywhere, secure when present.
    func copiedAddresses(_ observations: [ScanObservation], _ name: DomainName, _ type: RRType, now: Int64) -> Result<Set<[UInt8]>, PolicyViolation> {
        for observation in observations {
            // A name without addresses may not exist at all: NXDOMAIN is an answer too.
            var answer = observation.answers[ScanObservation.Query(name, type)]
            if answer?.rcode == .nxDomain { answer?.rcode = .noError }
            if let violation = authoritative(answer, "\(name) \(type)", observation) { return .failure(violation) }
        }
        let rdatas: Set<[UInt8]>
        switch consistent(observations, name, type, rule: "csync-glue-inconsistent") {
        case .failure(let violation): return .failure(violation)
        case .success(let found): rdatas = found
        }
        guard !rdatas.isEmpty else { return .success([]) }
        for observation in observations {
            guard let target = observation.signed(name, type), let dnskey = observation.signed(child, .dnskey) else { continue }
            let verdict = DNSSECValidator.validate(target, dnskey: dnskey, anchor: currentAnchor, now: now)
            guard verdict.isSecure else { return .failure(PolicyViolation(rule: "csync-bogus", "\(observation.server): \(verdict)")) }
        }
        return .success(rdatas)
    }
}
