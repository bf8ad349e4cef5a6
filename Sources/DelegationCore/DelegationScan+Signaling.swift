import DNSWire

extension DelegationScan {
    /// RFC 9615 §4.2 steps 3 and 4 for an unsigned child's CDS/CDNSKEY (``Signaling``): under
    /// every out-of-domain NS the signaling name holds the same CDS and CDNSKEY as the apex,
    /// validated from the configured trust anchor. A failure is a refusal with the rule
    /// `bootstrap-signal-invalid`; no signal at all leaves the RFC 8078 delay.
    func judgeSignals(_ signaling: [SignalingObservation], cds: Set<[UInt8]>, cdnskey: Set<[UInt8]>, now: Int64) -> SignalVerdict {
        switch Signaling.judge(
            signaling, apex: [.cds: cds, .cdnskey: cdnskey], child: child, nameservers: current.nameservers, anchor: policy.anchor, now: now)
        {
        case .authenticated(let text): .authenticated(text)
        case .absent(let text): .absent(text)
        case .failed(let text): .failed(PolicyViolation(rule: "bootstrap-signal-invalid", text))
        }
    }

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
}
