import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Where a request came from.
public struct DNSRequestContext: Sendable {
    /// The peer's address without port ("192.0.2.7", "::1").
    public let sourceAddress: String
    public let sourcePort: Int
    public let transport: DNSTransportKind

    public init(sourceAddress: String, sourcePort: Int, transport: DNSTransportKind) {
        self.sourceAddress = sourceAddress
        self.sourcePort = sourcePort
        self.transport = transport
    }

    /// "192.0.2.7:53124" or "[::1]:53124".
    public var source: String {
        sourceAddress.contains(":") ? "[\(sourceAddress)]:\(sourcePort)" : "\(sourceAddress):\(sourcePort)"
    }
}

/// Answers one request; `nil` means no answer at all (e.g. too short to carry an ID).
public typealias DNSRequestHandler = @Sendable (_ request: [UInt8], _ context: DNSRequestContext) async -> [UInt8]?

/// Limits that keep a public listener cheap to run (RFC 7766 §6.2 recommends idle timeouts and
/// connection limits for TCP).
public struct DNSServerLimits: Sendable, Hashable {
    /// Open TCP connections at once; further ones are closed at once. Default 64.
    public var maxTCPConnections: Int
    /// Seconds a TCP connection may stay idle. Default 10.
    public var tcpIdleTimeout: Int
    /// Requests being handled at once over both transports; UDP requests beyond it are dropped,
    /// TCP connections wait. Default 32.
    public var maxInFlight: Int
    /// Largest request accepted. Default 16384 octets.
    public var maxMessageSize: Int

    public init(maxTCPConnections: Int = 64, tcpIdleTimeout: Int = 10, maxInFlight: Int = 32, maxMessageSize: Int = 16384) {
        self.maxTCPConnections = maxTCPConnections
        self.tcpIdleTimeout = tcpIdleTimeout
        self.maxInFlight = maxInFlight
        self.maxMessageSize = maxMessageSize
    }
}

/// A DNS server on UDP and TCP (RFC 1035 §4.2, RFC 7766): several messages per TCP connection,
/// answered in order; idle timeout; bounded connections and requests in flight.
public struct DNSServer: Sendable {
    public let host: String
    public let port: Int
    public let limits: DNSServerLimits
    let handler: DNSRequestHandler
    let logger: Logger

    public init(host: String, port: Int, limits: DNSServerLimits = DNSServerLimits(), logger: Logger, handler: @escaping DNSRequestHandler) {
        self.host = host
        self.port = port
        self.limits = limits
        self.logger = logger
        self.handler = handler
    }

    /// Binds both sockets, calls `onBound` with the bound port (useful with port 0), and serves
    /// until the task is cancelled.
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let tcp = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(Int64(limits.tcpIdleTimeout))))
                    try channel.pipeline.syncOperations.addHandler(CloseOnIdleHandler())
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSTCPFrameDecoder(maxMessageSize: limits.maxMessageSize)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let boundPort = tcp.channel.localAddress?.port ?? port
        let udp = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: boundPort) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        logger.info("listening", metadata: ["delegsync.address": "\(host)", "delegsync.port": "\(boundPort)"])
        onBound(boundPort)
        let gate = InFlightGate(limit: limits.maxInFlight)
        let connections = NIOLockedValueBox(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await udp.executeThenClose { inbound, outbound in
                    try await withThrowingDiscardingTaskGroup { requests in
                        for try await envelope in inbound {
                            guard envelope.data.readableBytes <= limits.maxMessageSize, gate.tryEnter() else { continue }
                            let bytes = Array(envelope.data.readableBytesView)
                            let remote = envelope.remoteAddress
                            let context = DNSRequestContext(sourceAddress: remote.ipAddress ?? "?", sourcePort: remote.port ?? 0, transport: .udp)
                            requests.addTask {
                                defer { gate.leave() }
                                guard let response = await handler(bytes, context) else { return }
                                try? await outbound.write(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: response)))
                            }
                        }
                    }
                }
            }
            group.addTask {
                try await tcp.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { clients in
                        for try await connection in inbound {
                            let admitted = connections.withLockedValue { count -> Bool in
                                guard count < limits.maxTCPConnections else { return false }
                                count += 1
                                return true
                            }
                            guard admitted else {
                                try? await connection.channel.close()
                                continue
                            }
                            clients.addTask {
                                defer { connections.withLockedValue { $0 -= 1 } }
                                await serve(connection, gate: gate)
                            }
                        }
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, gate: InFlightGate) async {
        let remote = connection.channel.remoteAddress
        let context = DNSRequestContext(sourceAddress: remote?.ipAddress ?? "?", sourcePort: remote?.port ?? 0, transport: .tcp)
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await frame in inbound {
                    await gate.enter()
                    let response = await handler(Array(frame.readableBytesView), context)
                    gate.leave()
                    guard let response else { continue }
                    try await outbound.write(ByteBuffer(bytes: TCPFraming.frame(response)))
                }
            }
        } catch {
            logger.debug("TCP connection ended", metadata: ["delegsync.source": "\(context.source)", "delegsync.error": "\(error)"])
        }
    }
}

/// Splits a TCP byte stream into DNS messages (RFC 1035 §4.2.2 two-octet length prefix).
/// A length over the limit closes the connection.
struct DNSTCPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxMessageSize: Int

    struct TooLarge: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return .needMoreData }
        guard Int(length) <= maxMessageSize else { throw TooLarge() }
        guard buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Closes a connection that stayed idle past the `IdleStateHandler`'s timeout.
final class CloseOnIdleHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// Counts requests being handled; UDP asks without waiting, TCP waits for a place.
final class InFlightGate: Sendable {
    let limit: Int
    let count = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    func tryEnter() -> Bool {
        count.withLockedValue { value in
            guard value < limit else { return false }
            value += 1
            return true
        }
    }

    func enter() async {
        while !tryEnter() {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    func leave() {
        count.withLockedValue { $0 -= 1 }
    }
}
