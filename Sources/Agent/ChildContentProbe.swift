import DNSWire
import DelegationCore
import Transport

/// The I/O half of the content checks (``ContentCheck``): asks the child's nameservers what
/// the checks need — directly, RD=0, over TCP, the DO bit set — and lets ``ContentCheck`` judge.
/// Addresses come from the glue of the delegation before or after the change, or from the
/// zone's `bootstrap.resolver` for names outside the child (``NameserverAddresses``).
///
/// All addresses are asked at once; each one's questions in order, and an address that does
/// not answer one question is not asked the rest. The time this takes is bounded by the
/// exchange's timeout (the agent gives it a short one: the child is waiting for its reply).
public struct ChildContentProbe: Sendable {
    let exchange: DNSExchange
    /// Port the child's nameservers answer on (53; tests may use another).
    let nameserverPort: Int

    public init(exchange: @escaping DNSExchange, nameserverPort: Int = 53) {
        self.exchange = exchange
        self.nameserverPort = nameserverPort
    }

    /// The zone's content checks on a change from `current` to `result`: nil when they pass
    /// (or none applies), else the refusal.
    public func check(current: DelegationSnapshot, result: DelegationSnapshot, zone: AgentConfiguration.Zone) async -> PolicyViolation? {
        let check = ContentCheck(checks: zone.contentChecks, current: current, result: result)
        guard let plan = check.plan else { return nil }
        return check.judge(await observe(plan, child: result.child, resolver: zone.resolver))
    }

    /// One observation per address of every target (one without address when none is known).
    func observe(_ plan: ContentCheck.Plan, child: DomainName, resolver: AgentConfiguration.Listen?) async -> [ChildServerObservation] {
        let addresses = NameserverAddresses(exchange: exchange, resolver: resolver)
        var servers: [(DomainName, String)] = []
        var observations: [ChildServerObservation] = []
        for target in plan.targets {
            switch await addresses.lookup(target.nameserver, child: child, glue: target.glue) {
            case .failure(let missing):
                observations.append(ChildServerObservation(nameserver: target.nameserver, address: nil, failure: "\(missing)"))
            case .success(let found):
                servers += found.map { (target.nameserver, $0) }
            }
        }
        let asked = await withTaskGroup(of: (Int, ChildServerObservation).self) { group in
            for (index, (nameserver, address)) in servers.enumerated() {
                group.addTask { (index, await self.ask(plan.questions, child: child, nameserver: nameserver, at: address)) }
            }
            var collected: [(Int, ChildServerObservation)] = []
            for await observation in group { collected.append(observation) }
            return collected.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return observations + asked
    }

    func ask(_ questions: [RRType], child: DomainName, nameserver: DomainName, at address: String) async -> ChildServerObservation {
        var observation = ChildServerObservation(nameserver: nameserver, address: address)
        for type in questions {
            do {
                let reply = try await DirectQuery.ask(child, type, at: address, port: nameserverPort, dnssecOK: true, exchange: exchange)
                observation.answers[type] = ChildServerObservation.Answer(
                    rcode: reply.rcode, authoritative: reply.header.aa, records: reply.answer.filter { $0.name == child })
            } catch let error as DNSClientError {
                // The server and what went wrong, without the socket library's details: this
                // text ends up in the EDE of the refusal.
                observation.failure = "\(error.server): \(error.code)"
                break
            } catch {
                observation.failure = "\(error)"
                break
            }
        }
        return observation
    }
}
