import DNSWire

extension DelegationScan {
    /// What the RFC 9615 signals say about an unsigned child's CDS/CDNSKEY.
    enum SignalVerdict {
        /// Every out-of-domain NS signals the apex's RRsets, validated from the anchor.
        case authenticated(String)
        /// Signals exist but do not authenticate the apex's RRsets: nothing is accepted.
        case failed(PolicyViolation)
        /// No signals to go by (no anchor, no out-of-domain NS, none published): the RFC 8078
        /// delay applies.
        case absent(String)
    }

    /// RFC 9615 §4.2 steps 3 and 4: under every out-of-domain NS the signaling name holds the same
    /// CDS and CDNSKEY as the apex (empty in one and not the other fails too), validated from the
    /// configured trust anchor.
    func judgeSignals(_ signaling: [SignalingObservation], cds: Set<[UInt8]>, cdnskey: Set<[UInt8]>, now: Int64) -> SignalVerdict {
        guard let anchor = policy.anchor else { return .absent("no trust anchor configured for RFC 9615 signals") }
        let outside = current.nameservers.sorted().filter { !$0.isSubdomain(of: child) }
        guard !outside.isEmpty else { return .absent("every NS is inside \(child), so RFC 9615 signals cannot exist") }
        let published = signaling.filter { !$0.rdatas(.cds).isEmpty || !$0.rdatas(.cdnskey).isEmpty }
        guard !published.isEmpty else { return .absent("no RFC 9615 signal under any NS") }
        let rule = "bootstrap-signal-invalid"
        for nameserver in outside {
            guard let signal = signaling.first(where: { $0.nameserver == nameserver }) else {
                return .failed(
                    PolicyViolation(rule: rule, "no RFC 9615 signal was looked up under \(nameserver); every out-of-domain NS must signal (RFC 9615 §4.2)"))
            }
            if let failure = signal.failure {
                return .failed(PolicyViolation(rule: rule, "\(signal.name): \(failure) (RFC 9615 §4.2)"))
            }
            for (type, apex) in [(RRType.cds, cds), (.cdnskey, cdnskey)] {
                let signalled = signal.rdatas(type)
                guard signalled == apex else {
                    return .failed(
                        PolicyViolation(
                            rule: rule,
                            "\(signal.name) holds \(Self.show(signalled, type, at: signal.name)) but the apex of \(child) \(Self.show(apex, type, at: child)); "
                                + "they must be the same (RFC 9615 §4.2 step 4)"))
                }
                guard !signalled.isEmpty, let records = signal.answers[type]?.records, let target = SignedRRset(records, name: signal.name, type: type) else {
                    continue
                }
                let verdict = DNSSECValidator.validate(target, chain: signal.chain, anchor: anchor, now: now)
                guard verdict.isSecure else {
                    return .failed(PolicyViolation(rule: rule, "\(signal.name) \(type) does not validate from the trust anchor for \(anchor.zone): \(verdict)"))
                }
            }
        }
        return .authenticated("validated under \(outside.map(\.description).joined(separator: ", ")) from the anchor for \(anchor.zone)")
    }
}
