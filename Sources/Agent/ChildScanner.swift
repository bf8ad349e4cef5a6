import DNSWire
import DelegationCore
import Transport

/// The I/O half of a scan (``DelegationScan``): asks every address of every NS of the
/// delegation what the scan needs — directly, RD=0, over TCP, the DO bit set — in the order of
/// RFC 7477 §3.1 (the apex questions, then A/AAAA of the in-bailiwick names, then the SOA
/// again), and looks up RFC 9615 signals with their chain of trust through the zone's resolver
/// (RD=1, CD=1: the agent validates). Addresses come from the parent's glue, or from the
/// resolver for names outside the child (``NameserverAddresses``).
///
/// The addresses are asked side by side; each one's questions in order, and one that stops
/// answering is not asked the rest (its observation says why).
public struct ChildScanner: Sendable {
    let exchange: DNSExchange
    /// Port the child's nameservers answer on (53; tests may use another).
    let nameserverPort: Int

    public init(exchange: @escaping DNSExchange, nameserverPort: Int = 53) {
        self.exchange = exchange
        self.nameserverPort = nameserverPort
    }

    /// Every observation the scan judges.
    func observe(_ scan: DelegationScan, resolver: AgentConfiguration.Listen?) async -> (observations: [ScanObservation], signaling: [SignalingObservation]) {
        let child = scan.child
        let addresses = NameserverAddresses(exchange: exchange, resolver: resolver)
        var observations: [ScanObservation] = []
        for nameserver in scan.current.nameservers.sorted() {
            switch await addresses.lookup(nameserver, child: child, glue: scan.current.glue[nameserver] ?? []) {
            case .failure(let missing): observations.append(ScanObservation(nameserver: nameserver, address: nil, failure: "\(missing)"))
            case .success(let found): observations += found.map { ScanObservation(nameserver: nameserver, address: $0) }
            }
        }
        let apex = DelegationScan.apexQuestions.map { ScanObservation.Query(child, $0) }
        observations = await each(observations) { try await self.ask(apex, $0) }
        let glue = scan.glueNames(in: observations).flatMap { [ScanObservation.Query($0, .a), ScanObservation.Query($0, .aaaa)] }
        observations = await each(observations) { observation in
            var asked = try await self.ask(glue, observation)
            asked.closingSOA = try await self.answer(ScanObservation.Query(child, .soa), at: asked.address!)
            return asked
        }
        var signaling: [SignalingObservation] = []
        if let resolver, let anchor = scan.policy.anchor {
            for (nameserver, name) in scan.signalingNames(in: observations) {
                signaling.append(
                    await SignalLookup(exchange: exchange, resolver: resolver).observe(name, nameserver: nameserver, types: [.cds, .cdnskey], anchor: anchor))
            }
        }
        return (observations, signaling)
    }

    /// Runs `step` on every observation with an address and no failure yet, side by side; a
    /// thrown error becomes the observation's failure.
    func each(_ observations: [ScanObservation], _ step: @escaping @Sendable (ScanObservation) async throws -> ScanObservation) async -> [ScanObservation] {
        await withTaskGroup(of: (Int, ScanObservation).self) { group in
            for (index, observation) in observations.enumerated() {
                guard observation.address != nil, observation.failure == nil else { continue }
                group.addTask {
                    do {
                        return (index, try await step(observation))
                    } catch let error as DNSClientError {
                        // The server and what went wrong, without the socket library's details.
                        return (index, Self.failed(observation, "\(error.server): \(error.code)"))
                    } catch {
                        return (index, Self.failed(observation, "\(error)"))
                    }
                }
            }
            var result = observations
            for await (index, observation) in group { result[index] = observation }
            return result
        }
    }

    static func failed(_ observation: ScanObservation, _ why: String) -> ScanObservation {
        var copy = observation
        copy.failure = why
        return copy
    }

    func ask(_ queries: [ScanObservation.Query], _ observation: ScanObservation) async throws -> ScanObservation {
        var observation = observation
        for query in queries {
            observation.answers[query] = try await answer(query, at: observation.address!)
        }
        return observation
    }

    func answer(_ query: ScanObservation.Query, at address: String) async throws -> ChildServerObservation.Answer {
        let reply = try await DirectQuery.ask(query.name, query.type, at: address, port: nameserverPort, dnssecOK: true, exchange: exchange)
        return ChildServerObservation.Answer(rcode: reply.rcode, authoritative: reply.header.aa, records: reply.answer.filter { $0.name == query.name })
    }
}
