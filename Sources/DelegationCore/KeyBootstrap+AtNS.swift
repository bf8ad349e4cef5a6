import DNSWire

extension KeyBootstrap {
    /// The `at-ns` bootstrap method (draft-ietf-dnsop-delegation-mgmt-via-ddns, "identical to
    /// the method used for DNSSEC bootstrap as described in RFC 9615"): the child's nameserver
    /// operators publish its KEY RRset at `_sig0key.<child>._signal.<ns>` in their signed zones.
    /// Under every NS of the delegation outside the child the signal must equal the KEY RRset
    /// the apex served in the round (`apex`, which the round checks holds the uploaded key) and
    /// validate from `anchor` (RFC 9615 §4.2 rules, ``Signaling``). Returns the verdict; the
    /// caller fails the round on ``Signaling/Verdict/failed(_:)``.
    public static func validateAtNS(
        _ signaling: [SignalingObservation], child: DomainName, nameservers: Set<DomainName>, apex: Set<[UInt8]>, anchor: TrustAnchor?, now: Int64
    ) -> Signaling.Verdict {
        Signaling.judge(signaling, apex: [.key: apex], child: child, nameservers: nameservers, anchor: anchor, now: now)
    }

    /// The signaling names an `at-ns` round looks up: `_sig0key.<child>._signal.<ns>` under each
    /// NS outside the child.
    public static func atNSNames(child: DomainName, nameservers: Set<DomainName>) -> [(nameserver: DomainName, name: DomainName)] {
        Signaling.names(.sig0key, child: child, nameservers: nameservers)
    }
}
