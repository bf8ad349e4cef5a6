import DNSWire
import Transport

/// Whether a primary answers for its zone and takes a TSIG key — what `delegsync check-config
/// --online` asks before the agent relies on either: a direct query (RD=0, over TCP) for the
/// zone's SOA (RFC 1035 §4.3.1), signed with the key when one is given (RFC 8945 §5.1), whose
/// answer must be authoritative (AA), hold the zone's SOA, and carry a TSIG that verifies
/// (RFC 8945 §5.3). The query changes nothing at the primary.
public struct PrimarySOACheck: Sendable {
    public let zone: DomainName
    public let server: String
    public let port: Int
    public let key: TSIGKey?

    public init(zone: DomainName, server: String, port: Int, key: TSIGKey?) {
        self.zone = zone
        self.server = server
        self.port = port
        self.key = key
    }

    /// "ADDR port P" as the checks print it.
    public var endpoint: String { "\(server) port \(port)" }

    /// Asks once; returns what was seen (`SOA serial N, TSIG key K accepted`) or throws a
    /// ``BackendError`` saying what is wrong. `now` is the TSIG time, seconds since the epoch.
    public func run(client: DNSClient, now: UInt64) async throws -> String {
        var query = Message(question: [Question(name: zone, type: .soa)])
        query.id = UInt16.random(in: 0...UInt16.max)
        var request = try query.wireFormat()
        if let key { request = try tsigSigned(request, key: key, time: now) }
        let bytes: [UInt8]
        do {
            bytes = try await client.exchange(request, host: server, port: port, transport: .tcp)
        } catch {
            throw BackendError("\(endpoint) does not answer: \(error)")
        }
        let reply: Message
        do {
            reply = try Message(wire: bytes)
        } catch {
            throw BackendError("\(endpoint) answered with something that is not a DNS message: \(error)")
        }
        guard reply.id == query.id, reply.header.qr else { throw BackendError("\(endpoint) answered another query (ID \(reply.id))") }
        let tsig = try? tsigRecordData(of: bytes)
        guard reply.rcode == .noError else {
            let tsigError = tsig.map { $0.error == .noError ? "" : ", TSIG error \($0.error)" } ?? ""
            let hint = key.map { tsigError.isEmpty ? "" : " (\($0.name) is not a key it knows, or the secret or algorithm differ)" } ?? ""
            throw BackendError("\(endpoint) answered \(reply.rcode)\(tsigError) to SOA \(zone)\(hint)")
        }
        guard reply.header.aa else { throw BackendError("\(endpoint) is not authoritative for \(zone) (no AA in its answer)") }
        guard let soa = reply.answer.first(where: { $0.type == .soa && $0.name == zone }) else {
            throw BackendError("\(endpoint) answered without the SOA of \(zone)")
        }
        var seen = "SOA \(soa.rdataPresentation.split(separator: " ").dropFirst(2).first.map { "serial \($0)" } ?? "")"
        if let key {
            guard tsig != nil else { throw BackendError("\(endpoint) did not sign its answer with \(key.name): it does not use the key") }
            do {
                try tsigVerifyResponse(bytes, request: request, key: key, time: now)
            } catch {
                throw BackendError("\(endpoint): the TSIG of its answer does not verify with \(key.name): \(error)")
            }
            seen += ", TSIG key \(key.name) accepted"
        }
        return seen
    }
}
