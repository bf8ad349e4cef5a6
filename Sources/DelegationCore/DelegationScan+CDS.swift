import DNSWire

extension DelegationScan {
    /// The DS part's result: the part, the DS set to hold when it changes, the RFC 8078
    /// observation to keep.
    struct DSJudgement {
        var part: ScanOutcome.Part
        var desired: Set<[UInt8]>? = nil
        var bootstrap: BootstrapObservation? = nil
    }

    /// RFC 8078 §4: `CDS 0 0 0 00`.
    static let cdsDelete: [UInt8] = [0, 0, 0, 0, 0]
    /// RFC 8078 §4: `CDNSKEY 0 3 0 AA==`.
    static let cdnskeyDelete: [UInt8] = [0, 0, 3, 0, 0]

    /// CDS and CDNSKEY: consistency (RFC 9975), validation (RFC 7344 §4.1), the delete signal
    /// (RFC 8078 §4), continuity, and for an unsigned child RFC 9615 or the RFC 8078 delay.
    func judgeDS(_ observations: [ScanObservation], signaling: [SignalingObservation], bootstrap: BootstrapObservation?, now: Int64) -> DSJudgement {
        let cds: Set<[UInt8]>, cdnskey: Set<[UInt8]>
        switch (consistent(observations, child, .cds, rule: "cds-inconsistent"), consistent(observations, child, .cdnskey, rule: "cdnskey-inconsistent")) {
        case (.failure(let violation), _), (_, .failure(let violation)): return DSJudgement(part: .refused(violation))
        case (.success(let a), .success(let b)): (cds, cdnskey) = (a, b)
        }
        guard !cds.isEmpty || !cdnskey.isEmpty else {
            return DSJudgement(part: .unchanged("\(child) publishes no CDS and no CDNSKEY (RFC 7344 §6.1: no action)"))
        }
        if let violation = Self.agreement(cds: cds, cdnskey: cdnskey, child: child) { return DSJudgement(part: .refused(violation)) }
        let desired: Set<[UInt8]>
        do {
            desired = try ChildApex.delegationSigners(child: child, cds: Array(cds), cdnskey: Array(cdnskey), dnskey: [])
        } catch let error as DelegationDiffError {
            return DSJudgement(part: .refused(Self.violation("cds", error)))
        } catch {
            return DSJudgement(part: .refused(PolicyViolation(rule: "cds-malformed", "\(error)")))
        }
        let deleteSignal = cds.isEmpty ? cdnskey == [Self.cdnskeyDelete] : cds == [Self.cdsDelete]
        return current.ds.isEmpty
            ? judgeFirstDS(
                observations, desired: desired, deleteSignal: deleteSignal, cds: cds, cdnskey: cdnskey, signaling: signaling, bootstrap: bootstrap, now: now)
            : judgeSignedChild(observations, desired: desired, deleteSignal: deleteSignal, cds: cds, cdnskey: cdnskey, now: now)
    }

    /// RFC 9975 / RFC 7344: CDS and CDNSKEY published together must say the same — both the
    /// delete signal or neither; every CDNSKEY has a CDS with its digest, every CDS (of a digest
    /// type computed here) a CDNSKEY.
    static func agreement(cds: Set<[UInt8]>, cdnskey: Set<[UInt8]>, child: DomainName) -> PolicyViolation? {
        guard !cds.isEmpty, !cdnskey.isEmpty else { return nil }
        let rule = "cds-cdnskey-mismatch"
        let deletes = (cds == [cdsDelete], cdnskey == [cdnskeyDelete])
        guard deletes.0 == deletes.1 else {
            return PolicyViolation(
                rule: rule,
                "\(child) publishes the delete signal in \(deletes.0 ? "CDS" : "CDNSKEY") only; publish it in both, or remove the other RRset (RFC 8078 §4, RFC 9975)"
            )
        }
        if deletes.0 { return nil }
        let records = cds.compactMap { try? DSData(rdata: $0) }
        for key in cdnskey.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let covered = records.contains {
                DSData.computableDigestTypes.contains($0.digestType) && (try? DSData(dnskey: key, owner: child, digestType: $0.digestType)) == $0
            }
            guard covered else {
                let tag = KEYData.keyTag(rdata: key)
                return PolicyViolation(
                    rule: rule, "\(child) publishes CDNSKEY \(tag) but no CDS for that key; CDS and CDNSKEY must name the same keys (RFC 9975)")
            }
        }
        for ds in records where DSData.computableDigestTypes.contains(ds.digestType) {
            guard cdnskey.contains(where: { (try? DSData(dnskey: $0, owner: child, digestType: ds.digestType)) == ds }) else {
                return PolicyViolation(
                    rule: rule, "\(child) publishes CDS \(ds) but no CDNSKEY for that key; CDS and CDNSKEY must name the same keys (RFC 9975)")
            }
        }
        return nil
    }

    /// A signed child (the parent holds DS): CDS and CDNSKEY validate under a key the current DS
    /// points at, on every server; then the delete signal or a DS set that keeps validation.
    func judgeSignedChild(
        _ observations: [ScanObservation], desired: Set<[UInt8]>, deleteSignal: Bool, cds: Set<[UInt8]>, cdnskey: Set<[UInt8]>, now: Int64
    ) -> DSJudgement {
        for observation in observations {
            for (type, rdatas) in [(RRType.cds, cds), (.cdnskey, cdnskey)] where !rdatas.isEmpty {
                if let violation = validated(observation, type, anchor: currentAnchor, signer: .entryKey, now: now, rule: "cds-bogus") {
                    return DSJudgement(part: .refused(violation))
                }
            }
        }
        if deleteSignal {
            return DSJudgement(
                part: .change("\(child) publishes the delete signal (RFC 8078 §4), validated: the DS RRset goes and the delegation turns insecure"), desired: []
            )
        }
        for observation in observations {
            if let violation = continuity(desired, observation, now: now) { return DSJudgement(part: .refused(violation)) }
        }
        guard desired != current.ds else {
            return DSJudgement(part: .unchanged("the parent already holds the DS RRset \(child)'s CDS/CDNSKEY ask for"))
        }
        return DSJudgement(part: .change(describe(desired, observations: observations, now: now)), desired: desired)
    }

    /// An unsigned child's first DS: signed by the keys it points at, then RFC 9615 or the delay.
    func judgeFirstDS(
        _ observations: [ScanObservation], desired: Set<[UInt8]>, deleteSignal: Bool, cds: Set<[UInt8]>, cdnskey: Set<[UInt8]>,
        signaling: [SignalingObservation], bootstrap: BootstrapObservation?, now: Int64
    ) -> DSJudgement {
        if deleteSignal {
            return DSJudgement(part: .unchanged("\(child) publishes the delete signal and the parent holds no DS: nothing to remove"))
        }
        let proposed = TrustAnchor(zone: child, ds: desired.sorted { $0.lexicographicallyPrecedes($1) }.compactMap { try? DSData(rdata: $0) })
        for observation in observations {
            if let violation = continuity(desired, observation, now: now) { return DSJudgement(part: .refused(violation)) }
            for (type, rdatas) in [(RRType.cds, cds), (.cdnskey, cdnskey)] where !rdatas.isEmpty {
                if let violation = validated(observation, type, anchor: proposed, signer: .entryKey, now: now, rule: "cds-bogus") {
                    return DSJudgement(part: .refused(violation))
                }
            }
        }
        switch judgeSignals(signaling, cds: cds, cdnskey: cdnskey, now: now) {
        case .authenticated(let text):
            return DSJudgement(
                part: .change("first DS for \(child), authenticated by RFC 9615 signals (\(text)): \(describe(desired, observations: observations, now: now))"),
                desired: desired)
        case .failed(let violation):
            return DSJudgement(part: .refused(violation))
        case .absent(let why):
            let rule = policy.bootstrap
            let (observation, accepted) = BootstrapObservation.advance(bootstrap, ds: desired, now: now, rule: rule)
            if accepted {
                return DSJudgement(
                    part: .change(
                        "first DS for \(child), unchanged on every server for \(rule.days) day(s) over \(observation.scans) scans (RFC 8078 §3.3): \(describe(desired, observations: observations, now: now))"
                    ), desired: desired)
            }
            return DSJudgement(
                part: .waiting(
                    "first DS for \(child) seen unchanged since \(UTCTime.text(observation.firstSeen)), scan \(observation.scans) of \(rule.scans); "
                        + "accepted from \(UTCTime.text(observation.acceptableFrom(rule))) if nothing changes (RFC 8078 §3.3; \(why))"),
                bootstrap: observation)
        }
    }

    /// The refusal when `type` at the apex served by `observation` does not validate under
    /// `anchor` with the DNSKEY RRset that server serves.
    func validated(_ observation: ScanObservation, _ type: RRType, anchor: TrustAnchor, signer: DNSSECValidator.Signer, now: Int64, rule: String)
        -> PolicyViolation?
    {
        guard let target = observation.signed(child, type) else { return nil }
        guard let dnskey = observation.signed(child, .dnskey) else {
            return PolicyViolation(rule: rule, "\(observation.server) serves \(child) \(type) but no DNSKEY RRset to validate it with")
        }
        let verdict = DNSSECValidator.validate(target, dnskey: dnskey, anchor: anchor, now: now, signer: signer)
        guard verdict.isSecure else { return PolicyViolation(rule: rule, "\(observation.server): \(verdict)") }
        return nil
    }

    /// RFC 7344 §4.1 Continuity, RFC 4035 §2.2, RFC 6840 §5.11: with `desired`, `observation`'s
    /// DNSKEY RRset validates — some DS points at a key that signs it — and so does every
    /// algorithm in `desired`.
    func continuity(_ desired: Set<[UInt8]>, _ observation: ScanObservation, now: Int64) -> PolicyViolation? {
        guard let dnskey = observation.signed(child, .dnskey) else {
            return PolicyViolation(rule: "ds-breaks-validation", "\(observation.server) serves no DNSKEY RRset for \(child): a DS would make it bogus")
        }
        let points = desired.compactMap { try? DSData(rdata: $0) }.map { ($0, DNSSECValidator.entryPoint($0, dnskey: dnskey, now: now)) }
        let working = points.filter { if case .signsKeySet = $0.1 { return true } else { return false } }
        guard !working.isEmpty else {
            let each = points.map { "DS \($0.0.keyTag)/\($0.0.algorithm): \($0.1)" }.joined(separator: "; ")
            return PolicyViolation(
                rule: "ds-breaks-validation",
                "with the DS set the child asks for, \(child) would not validate at \(observation.server): \(each). Publish CDS for a key that signs the DNSKEY RRset (RFC 7344 §4.1)"
            )
        }
        for algorithm in Set(points.map(\.0.algorithm)).sorted() where !working.contains(where: { $0.0.algorithm == algorithm }) {
            return PolicyViolation(
                rule: "ds-algorithm-not-signing",
                "the DS set has algorithm \(algorithm), but at \(observation.server) no key of that algorithm that a DS points at signs the DNSKEY RRset; "
                    + "a DS for an algorithm the zone is not signed with breaks validation (RFC 4035 §2.2, RFC 6840 §5.11)")
        }
        return nil
    }

    /// `DS set {…}` with a note for DS records whose key is not published (yet).
    func describe(_ desired: Set<[UInt8]>, observations: [ScanObservation], now: Int64) -> String {
        var text = "DS RRset becomes \(Self.show(desired, .ds, at: child))"
        if let dnskey = observations.first?.signed(child, .dnskey) {
            let standby = desired.compactMap { try? DSData(rdata: $0) }.filter { DNSSECValidator.entryPoint($0, dnskey: dnskey, now: now) == .noKey }
            if !standby.isEmpty { text += " (DS \(standby.map { String($0.keyTag) }.joined(separator: ", ")) for key(s) not published yet)" }
        }
        return text
    }
}
