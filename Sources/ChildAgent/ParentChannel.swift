import DNSWire
import Foundation
import SIG0
import Transport

/// The child's line to the parent's UPDATE receiver (the DSYNC target, RFC 9859 §2.1 with the
/// DDNS draft's scheme UPDATE): SIG(0)-signed UPDATEs and KeyState inquiries over TCP (the
/// draft requires TCP for the self-signed upload; delegsync uses it for everything, so answers
/// are never truncated and cannot be spoofed from off-path).
///
/// When the receiver's KEY is known, a reply that is not SIG(0)-signed by it over this request
/// (RFC 2535 §4.1.8.1) is not believed: ``ChildAgentError/Code/unauthenticated``.
public struct ParentChannel: Sendable {
    public let endpoints: [NameserverAddress]
    public let receiverKey: SIG0PublicKey?
    public let receiverName: DomainName?
    public let client: DNSClient
    public let keyStateCode: UInt16

    public init(
        endpoints: [NameserverAddress], receiverKey: BINDKeyFile? = nil, client: DNSClient = DNSClient(),
        keyStateCode: UInt16 = KeyStateOption.defaultCode
    ) throws {
        self.endpoints = endpoints
        self.receiverKey = try receiverKey.map { try SIG0PublicKey($0.keyData) }
        self.receiverName = receiverKey?.owner
        self.client = client
        self.keyStateCode = keyStateCode
    }

    /// Sends `message` (already signed when it is an UPDATE) to the first endpoint that answers.
    public func send(_ message: [UInt8], now: UInt32) async throws -> ParentReply {
        guard !endpoints.isEmpty else { throw ChildAgentError(.unreachable, "no address for the parent's UPDATE receiver") }
        var failures: [String] = []
        for endpoint in endpoints {
            let bytes: [UInt8]
            do {
                bytes = try await client.exchange(message, host: endpoint.host, port: endpoint.port, transport: .tcp)
            } catch {
                failures.append("\(endpoint): \(error)")
                continue
            }
            return try reply(bytes, to: message, from: endpoint, now: now)
        }
        throw ChildAgentError(.unreachable, "the parent's UPDATE receiver did not answer: " + failures.joined(separator: "; "))
    }

    /// Decodes and authenticates one reply.
    func reply(_ bytes: [UInt8], to request: [UInt8], from endpoint: NameserverAddress, now: UInt32) throws -> ParentReply {
        let message: Message
        do {
            message = try Message(wire: bytes)
        } catch {
            throw ChildAgentError(.malformed, "\(endpoint) sent a reply that does not parse: \(error)")
        }
        guard message.header.qr, message.id == UInt16(request[0]) << 8 | UInt16(request[1]) else {
            throw ChildAgentError(.malformed, "\(endpoint) answered with another ID or without QR")
        }
        var authenticated = false
        if let receiverKey {
            do {
                try SIG0Verifier().verify(message: bytes, key: receiverKey, expectedSigner: receiverName, now: now, request: request)
                authenticated = true
            } catch {
                // A nameserver that forwards UPDATEs answers SERVFAIL itself when the agent
                // answered SERVFAIL, NOTAUTH or FORMERR, or not at all (LAB.md): like no answer,
                // worth another try later, never believed.
                if message.rcode == .servFail, (try? SIG0Signature(message: bytes)) == nil {
                    throw ChildAgentError(
                        .unreachable,
                        "\(endpoint) answered SERVFAIL without the receiver's signature (a nameserver forwarding the UPDATE answers so when the parent's agent failed or did not answer); not believed"
                    )
                }
                // What it said, for the operator only (a Knot forwarder breaks the signature of
                // an answer that explains exactly that).
                let unverified = ParentReply(
                    rcode: message.rcode, error: message.edns?.extendedError, keyState: nil, authenticated: false, server: endpoint)
                throw ChildAgentError(
                    .unauthenticated,
                    "\(endpoint)'s reply is not signed by the receiver's key \(receiverName?.description ?? ""): \(error); not believed (unverified, it said: \(unverified))"
                )
            }
        }
        return ParentReply(
            rcode: message.rcode, error: message.edns?.extendedError, keyState: message.edns?.keyState(code: keyStateCode), authenticated: authenticated,
            server: endpoint)
    }

    /// A KeyState inquiry (draft-berra-dnsop-keystate §4): a QUERY for `child KEY` carrying the
    /// option with state 2 and the key tag, SIG(0)-signed by that key — the parent tells a key's
    /// state only to its holder.
    public static func inquiry(child: DomainName, key: BINDKeyFile, now: UInt32, code: UInt16 = KeyStateOption.defaultCode) throws -> [UInt8] {
        var header = Header()
        header.id = UInt16.random(in: 0...UInt16.max)
        let option = KeyStateOption(keyID: key.keyTag, state: .inquiry).option(code: code)
        let query = try Message(header: header, question: [Question(name: child, type: .key)], edns: EDNS(options: [option])).wireFormat()
        return try SIG0Signer(keyFile: key).sign(query, now: now)
    }
}
