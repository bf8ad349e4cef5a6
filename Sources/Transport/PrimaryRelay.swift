import NIOCore
import NIOPosix

/// Stands in for a zone's primary towards its secondaries: what a secondary sends its primary —
/// SOA queries (RFC 1996 §3.11), AXFR and IXFR (RFC 5936 §2.2, RFC 1995: several messages on
/// one TCP connection, a SOA query and an IXFR on the same one), NOTIFY answers, anything — goes
/// to the real primary byte for byte, and the primary's messages come back byte for byte. Nothing
/// is parsed or re-encoded, so TSIG (RFC 8945 §4.3: over the bytes, message ID included) verifies
/// at both ends.
///
/// Over UDP each datagram is one exchange; no answer within ``timeout`` means none goes back.
/// Over TCP a secondary's connection gets one connection to the primary, opened at the first
/// message relayed, and everything the primary sends on it goes back; when either end closes or
/// cannot be reached the other is closed too. A primary that is down therefore gives the
/// secondary the failure it would have had without the relay: no answer over UDP, a closed
/// connection over TCP.
///
/// Limitations: the secondary sees the relay's address, not the primary's (the primary's NOTIFY
/// must reach the secondaries directly, and they must accept it: `allow-notify`); a TCP
/// connection refused by the primary reaches the secondary as a connection closed after it
/// was accepted.
public struct PrimaryRelay: Sendable {
    public let host: String
    public let port: Int
    /// How long the primary has to answer a UDP request, or to accept a TCP connection.
    public let timeout: Duration

    public init(host: String, port: Int, timeout: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    /// "192.0.2.53:53" or "[2001:db8::53]:53".
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether a message goes to the primary: everything but an UPDATE (RFC 2136 §2.2, opcode 5),
    /// which the front answers itself. A message too short to carry an opcode is passed on as
    /// well (the primary decides what it is worth).
    public static func passes(_ message: [UInt8]) -> Bool {
        message.count < 3 || (message[2] >> 3) & 0x0F != 5
    }

    /// One UDP exchange with the primary: its answer with the request's ID, or nil when none
    /// came within ``timeout``.
    public func exchange(_ datagram: [UInt8]) async -> [UInt8]? {
        try? await DNSClient(timeout: timeout).exchange(datagram, host: host, port: port, transport: .udp)
    }

    /// A TCP connection to the primary whose inbound side yields whole messages (without their
    /// length prefix) and whose outbound side takes framed bytes.
    func connect() async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(nanoseconds))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSTCPFrameDecoder(maxMessageSize: 65535)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Serves one secondary's TCP connection: UPDATEs go to `answer` (in order, one reply each),
    /// the rest to the primary over a connection of their own, and the primary's messages back
    /// to the secondary as they come. Returns when either side has closed.
    func serve(
        _ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, client: Channel,
        answer: @escaping @Sendable ([UInt8]) async -> [UInt8]?
    ) async throws {
        var messages = inbound.makeAsyncIterator()
        // Until the first message for the primary, nothing is opened towards it.
        while let frame = try await messages.next() {
            let message = Array(frame.readableBytesView)
            guard Self.passes(message) else {
                if let reply = await answer(message) { try await outbound.write(ByteBuffer(bytes: TCPFraming.frame(reply))) }
                continue
            }
            let upstream: NIOAsyncChannel<ByteBuffer, ByteBuffer>
            do {
                upstream = try await connect()
            } catch {
                throw Unreachable(primary: description, detail: "\(error)")
            }
            try await upstream.executeThenClose { fromPrimary, toPrimary in
                try await toPrimary.write(ByteBuffer(bytes: TCPFraming.frame(message)))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // The primary's messages, back to the secondary; when the primary closes, so
                    // does the secondary's connection (its read loop below then ends).
                    group.addTask {
                        defer { client.close(promise: nil) }
                        for try await reply in fromPrimary {
                            try await outbound.write(ByteBuffer(bytes: TCPFraming.frame(Array(reply.readableBytesView))))
                        }
                    }
                    while let frame = try await messages.next() {
                        let message = Array(frame.readableBytesView)
                        if Self.passes(message) {
                            try await toPrimary.write(ByteBuffer(bytes: TCPFraming.frame(message)))
                        } else if let reply = await answer(message) {
                            try await outbound.write(ByteBuffer(bytes: TCPFraming.frame(reply)))
                        }
                    }
                    // The secondary closed: close the primary's side too.
                    upstream.channel.close(promise: nil)
                    group.cancelAll()
                }
            }
            return
        }
    }

    /// The primary could not be reached over TCP; the secondary's connection is closed.
    struct Unreachable: Error, CustomStringConvertible {
        let primary: String
        let detail: String
        var description: String { "the primary \(primary) cannot be reached: \(detail)" }
    }
}
