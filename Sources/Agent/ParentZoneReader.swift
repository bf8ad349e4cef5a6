import DNSWire
import DelegationCore
import Transport

/// Sends one DNS message and returns the answer (a `DNSClient` in production, a fake in tests).
public typealias DNSExchange = @Sendable (_ message: [UInt8], _ host: String, _ port: Int, _ transport: DNSTransportKind) async throws -> [UInt8]

/// Reads what the parent zone holds for a child from the parent's primary.
public protocol ParentZoneReader: Sendable {
    /// The delegation, or `nil` when the parent has none for `child`.
    func delegation(in zone: AgentConfiguration.Zone, child: DomainName) async throws -> DelegationSnapshot?
}

/// Why the parent's data could not be read.
public struct ParentReadError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// Queries the primary directly over TCP with RD=0 (DESIGN.md): `child NS` (a referral: NS in
/// the authority section, glue in the additional section), `child DS` (answered by the parent),
/// and `child KEY` (answered by BIND; Knot refers, which then reads as no KEY).
public struct PrimaryZoneReader: ParentZoneReader {
    let exchange: DNSExchange

    public init(exchange: @escaping DNSExchange) {
        self.exchange = exchange
    }

    func ask(_ name: DomainName, _ type: RRType, zone: AgentConfiguration.Zone) async throws -> Message {
        var header = Header()
        header.id = UInt16.random(in: 0...UInt16.max)
        let query = Message(header: header, question: [Question(name: name, type: type)], edns: EDNS())
        let answer: [UInt8]
        do {
            answer = try await exchange(try query.wireFormat(), zone.primaryAddress, zone.primaryPort, .tcp)
        } catch {
            throw ParentReadError(description: "the primary \(zone.primaryAddress) port \(zone.primaryPort) did not answer \(name) \(type): \(error)")
        }
        let message: Message
        do {
            message = try Message(wire: answer)
        } catch {
            throw ParentReadError(description: "the primary's answer to \(name) \(type) is malformed: \(error)")
        }
        guard message.id == header.id, message.header.qr else {
            throw ParentReadError(description: "the primary's answer to \(name) \(type) does not match the query")
        }
        guard message.rcode == .noError || message.rcode == .nxDomain else {
            throw ParentReadError(description: "the primary answered \(name) \(type) with \(message.rcode)")
        }
        return message
    }

    public func delegation(in zone: AgentConfiguration.Zone, child: DomainName) async throws -> DelegationSnapshot? {
        let referral = try await ask(child, .ns, zone: zone)
        let nsRecords = (referral.authority + referral.answer).filter { $0.type == .ns && $0.name == child }
        guard !nsRecords.isEmpty else { return nil }
        let glue = referral.additional.filter { ($0.type == .a || $0.type == .aaaa) && $0.name.isSubdomain(of: child) }
        let ds = try await ask(child, .ds, zone: zone).answer.filter { $0.type == .ds && $0.name == child }
        let keys = try await ask(child, .key, zone: zone).answer.filter { $0.type == .key && $0.name == child }
        do {
            return try DelegationSnapshot(child: child, records: nsRecords + glue + ds + keys)
        } catch {
            throw ParentReadError(description: "the primary's NS records for \(child) are malformed: \(error)")
        }
    }
}
