import DNSWire
import DelegationCore

extension UpdateReceiver {
    /// The content checks of `zone` on the delegation a change leaves behind (``ContentCheck``),
    /// after the policy and the prerequisites and before anything is stored: nil when they
    /// pass, else `base` turned into the refusal (REFUSED, the rule's EDE and text).
    func checkContent(current: DelegationSnapshot, result: DelegationSnapshot, zone: AgentConfiguration.Zone, base: Outcome) async -> Outcome? {
        guard let violation = await contentProbe.check(current: current, result: result, zone: zone) else { return nil }
        var outcome = base
        outcome.rule = violation.rule
        outcome.infoCode = violation.infoCode
        outcome.reason = violation.description
        return outcome
    }
}
