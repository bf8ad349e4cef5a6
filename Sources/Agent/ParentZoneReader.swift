import DNSWire
import DelegationCore
import Transport

/// Sends one DNS message and returns the answer (a `DNSClient` in production, a fake in tests).
public typealias DNSExchange = @Sendable (_ message: [UInt8], _ host: String, _ port: Int, _ transport: DNSTransportKind) async throws -> [UInt8]

/// Sends a zone transfer request over TCP and returns the answer's messages up to and including
/// the one `isLast` accepts (``DNSClient/transfer(_:host:port:limit:isLast:)`` in production).
public typealias DNSTransfer =
    @Sendable (
        _ request: [UInt8], _ host: String, _ port: Int, _ isLast: @escaping @Sendable (_ message: [UInt8], _ index: Int) -> Bool
    ) async throws -> [[UInt8]]

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
///
/// A primary that also serves the child zone answers `child NS` from that zone: the child's
/// apex NS set in the answer section (AA), not the delegation. Then the reader transfers the
/// parent zone (AXFR, RFC 5936) and takes the delegation from it; where the primary refuses
/// the transfer, it throws a ``ParentReadError`` saying so. It never takes the child's apex for
/// the delegation.
///
/// Limitations: the transfer is not signed (no TSIG) and reads the whole parent zone on every
/// read of a co-hosted child, so it suits small parent zones.
public struct PrimaryZoneReader: ParentZoneReader {
    let exchange: DNSExchange
    let transfer: DNSTransfer?

    /// `transfer` is how the parent zone is read when the primary also serves the child zone:
    /// by default a `DNSClient` over TCP with 30 s for the whole transfer; `nil` refuses such
    /// reads.
    public init(exchange: @escaping DNSExchange, transfer: DNSTransfer? = Self.transferOverTCP) {
        self.exchange = exchange
        self.transfer = transfer
    }

    public static let transferOverTCP: DNSTransfer = { request, host, port, isLast in
        try await DNSClient(timeout: .seconds(30)).transfer(request, host: host, port: port, isLast: isLast)
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
        if Self.answersFromChildZone(referral, child: child) {
            return try await transferredDelegation(in: zone, child: child)
        }
        let nsRecords = referral.authority.filter { $0.type == .ns && $0.name == child }
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

    /// Whether the answer to `child NS` comes from a zone the primary has at `child` rather
    /// than from the parent: the NS RRset in the answer section (a referral carries it in the
    /// authority section, RFC 1034 §4.3.2), or the child's SOA in the authority section (a
    /// negative answer from the child zone, RFC 2308 §2.2).
    static func answersFromChildZone(_ reply: Message, child: DomainName) -> Bool {
        reply.answer.contains { $0.type == .ns && $0.name == child } || reply.authority.contains { $0.type == .soa && $0.name == child }
    }

    /// The delegation as the parent zone holds it, from an AXFR of the parent zone (RFC 5936):
    /// NS, DS and KEY at the child and the addresses at or below it.
    func transferredDelegation(in zone: AgentConfiguration.Zone, child: DomainName) async throws -> DelegationSnapshot? {
        let primary = "the primary \(zone.primaryAddress) port \(zone.primaryPort)"
        let problem = "\(primary) also serves \(child) as a zone: its answer to \(child) NS is the child's apex, not the delegation in \(zone.name)"
        let remedy =
            "allow the agent to transfer \(zone.name) from it (BIND allow-transfer, Knot acl action transfer, NSD provide-xfr), "
            + "or set zones[].primary to a server that serves \(zone.name) without \(child) (and backend.server to the primary that takes the updates)"
        guard transfer != nil else { throw ParentReadError(description: "\(problem); this reader does not transfer zones: \(remedy)") }
        let records: [Record]
        do {
            records = try await transferZone(zone)
        } catch .failed(let error) {
            throw ParentReadError(description: "\(problem); the zone transfer of \(zone.name) failed (\(error)): \(remedy)")
        } catch .refused(let rcode) {
            throw ParentReadError(description: "\(problem); it answered the zone transfer of \(zone.name) with \(rcode): \(remedy)")
        } catch .notATransfer {
            throw ParentReadError(description: "\(primary) sent a zone transfer of \(zone.name) that is not one (RFC 5936 §2.2: SOA first and last)")
        }
        let delegation = records.dropLast().filter { $0.name.isSubdomain(of: child) }
        guard delegation.contains(where: { $0.type == .ns && $0.name == child }) else { return nil }
        do {
            return try DelegationSnapshot(child: child, records: Array(delegation))
        } catch {
            throw ParentReadError(description: "the NS records for \(child) in the transfer of \(zone.name) are malformed: \(error)")
        }
    }

    /// Why a zone transfer gave no zone.
    enum TransferFailure: Error {
        case failed(any Error)
        case refused(RCode)
        /// Not SOA first and last, or messages not answering the request.
        case notATransfer
    }

    /// The parent zone's records by AXFR from the primary (RFC 5936), both SOAs included.
    func transferZone(_ zone: AgentConfiguration.Zone) async throws(TransferFailure) -> [Record] {
        guard let transfer else { throw .failed(ParentReadError(description: "this reader does not transfer zones")) }
        var header = Header()
        header.id = UInt16.random(in: 0...UInt16.max)
        let request = Message(header: header, question: [Question(name: zone.name, type: .axfr)])
        let messages: [Message]
        do {
            messages = try await transfer(try request.wireFormat(), zone.primaryAddress, zone.primaryPort, Self.endsTransfer).map { try Message(wire: $0) }
        } catch {
            throw .failed(error)
        }
        if let refused = messages.first(where: { $0.rcode != .noError }) { throw .refused(refused.rcode) }
        let records = messages.flatMap(\.answer)
        guard messages.allSatisfy({ $0.id == header.id && $0.header.qr }), records.count >= 2, let first = records.first, let last = records.last,
            first.type == .soa, first.name == zone.name, last.type == .soa, last.name == zone.name
        else { throw .notATransfer }
        return records
    }

    /// The children the parent zone delegates (owners of NS records below its apex), from a
    /// zone transfer: what the periodic scan goes through.
    public func delegations(in zone: AgentConfiguration.Zone) async throws -> [DomainName] {
        let records: [Record]
        do {
            records = try await transferZone(zone)
        } catch {
            let why: String
            switch error {
            case .failed(let error): why = "failed (\(error))"
            case .refused(let rcode): why = "was answered with \(rcode)"
            case .notATransfer: why = "is not one (RFC 5936 §2.2)"
            }
            throw ParentReadError(description: "the zone transfer of \(zone.name) from \(zone.primaryAddress) port \(zone.primaryPort) \(why)")
        }
        return Set(records.filter { $0.type == .ns && $0.name != zone.name && $0.name.isSubdomain(of: zone.name) }.map(\.name)).sorted()
    }

    /// Whether `message` (the `index`th of an AXFR answer) is its last: an error RCODE or a
    /// malformed message ends it, as does an answer section ending with the closing SOA (in the
    /// first message only after the opening one) (RFC 5936 §2.2).
    static let endsTransfer: @Sendable ([UInt8], Int) -> Bool = { bytes, index in
        guard let message = try? Message(wire: bytes), message.rcode == .noError else { return true }
        guard message.answer.last?.type == .soa else { return false }
        return index > 0 || message.answer.count > 1
    }
}
