import DNSWire
import Foundation
import Transport

/// Sends the change as an RFC 2136 UPDATE, TSIG-signed (RFC 8945), over TCP to the parent's
/// primary (BIND, Knot, or anything that speaks UPDATE), and succeeds only on NOERROR.
///
/// The response must carry the request's ID; with a key it must be TSIG-signed by the same key
/// (RFC 8945 §5.3), except error answers about the key itself (BADKEY/BADSIG), which a server
/// cannot sign and which are errors anyway.
///
/// With a ``DNSConnection`` every UPDATE goes over that one persistent connection (RFC 7766
/// §6.2.1; the agent's reads of the zone share it), each message signed on its own (RFC 8945
/// §5.1). Changes applied while another is on its way to the primary are merged into one
/// UPDATE (``UpdateQueue``): `apply` still returns only once the primary confirmed the message
/// holding that change, and a merged UPDATE that fails is split into one UPDATE per change.
public struct RFC2136Backend: DelegationBackend {
    public let server: String
    public let port: Int
    public let key: TSIGKey?
    public let client: DNSClient
    /// The persistent connection to the primary; `nil`: one connection per UPDATE.
    public let connection: DNSConnection?
    /// Merges concurrent changes; `nil`: one UPDATE per change.
    public let queue: UpdateQueue?
    /// Seconds since the epoch, for the TSIG time; tests fix it.
    let now: @Sendable () -> UInt64

    public init(
        server: String, port: Int = 53, key: TSIGKey?, client: DNSClient = DNSClient(), connection: DNSConnection? = nil,
        queue: UpdateQueue? = UpdateQueue(), now: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }
    ) {
        self.server = server
        self.port = port
        self.key = key
        self.client = client
        self.connection = connection
        self.queue = queue
        self.now = now
    }

    public var description: String {
        "rfc2136 to \(server):\(port)" + (key.map { " key \($0.name)" } ?? " unsigned")
    }

    public func apply(_ update: Update) async throws {
        guard !update.operations.isEmpty else { return }
        guard let queue else { return try await send(update) }
        try await queue.submit(update) { try await self.send($0) }
    }

    /// Sends one UPDATE message and returns on a NOERROR answer that checks.
    func send(_ update: Update) async throws {
        let id = UInt16.random(in: 0...UInt16.max)
        var request = try update.message(id: id).wireFormat()
        if let key { request = try tsigSigned(request, key: key, time: now()) }
        let responseBytes: [UInt8]
        do {
            if let connection {
                responseBytes = try await connection.exchange(request)
            } else {
                responseBytes = try await client.exchange(request, host: server, port: port, transport: .tcp)
            }
        } catch {
            throw BackendError("\(description): \(error)")
        }
        let response: Message
        do {
            response = try Message(wire: responseBytes)
        } catch {
            throw BackendError("\(description): unreadable answer: \(error)")
        }
        guard response.id == id, response.header.qr, response.opcode == .update else {
            throw BackendError("\(description): answer with ID \(response.id), opcode \(response.opcode) does not match UPDATE \(id)")
        }
        let tsig = try? tsigRecordData(of: responseBytes)
        guard response.rcode == .noError else {
            let tsigError = tsig.map { $0.error == .noError ? "" : " (TSIG error \($0.error))" } ?? ""
            // FORMERR, NOTZONE and the RFC 2136 §2.4 prerequisite codes are about the content:
            // the same change will be refused again. REFUSED and NOTAUTH usually mean the TSIG key
            // or the update policy, which the operator can fix, so those are retried.
            let content: Set<RCode> = [.formErr, .notZone, .yxDomain, .yxRRset, .nxRRset, .nxDomain]
            throw BackendError("\(description): the primary answered \(response.rcode)\(tsigError)", permanent: content.contains(response.rcode))
        }
        if let key {
            do {
                try tsigVerifyResponse(responseBytes, request: request, key: key, time: now())
            } catch {
                throw BackendError("\(description): NOERROR, but the answer's TSIG does not check: \(error)")
            }
        }
    }
}
