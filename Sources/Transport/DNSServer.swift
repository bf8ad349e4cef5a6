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
/// connection limits for TCP, per client as well as in total).
public struct DNSServerLimits: Sendable, Hashable {
    /// Open TCP connections at once; further ones are closed at once. Default 256.
    public var maxTCPConnections: Int
    /// Open TCP connections from one source address; further ones are closed at once. Default 8.
    public var maxTCPConnectionsPerSource: Int
    /// Open TCP connections from one source prefix (IPv4 /24, IPv6 /56), so that a few
    /// neighbouring addresses cannot take every slot either. Default 16.
    public var maxTCPConnectionsPerPrefix: Int
    /// Seconds a TCP connection may stay idle between messages. Default 10.
    public var tcpIdleTimeout: Int
    /// Seconds one message may take to arrive once its first octet has (a byte now and then
    /// does not keep a connection open: the idle timer alone would restart on every byte).
    /// Default 5.
    public var tcpMessageTimeout: Int
    /// Octets one TCP connection may send in all; then it is closed. Default 1 MiB.
    public var maxBytesPerConnection: Int
    /// UDP replies per source address per second (response rate limiting); requests beyond it
    /// get no answer. 0 turns it off. Default 20.
    public var udpRepliesPerSourcePerSecond: Int
    /// Requests being handled at once, for each transport on its own (a UDP flood must not
    /// starve TCP, where authenticated requests come); UDP requests beyond it are dropped, TCP
    /// connections wait. Default 32.
    public var maxInFlight: Int
    /// Largest request accepted. Default 16384 octets.
    public var maxMessageSize: Int

    public init(
        maxTCPConnections: Int = 256, maxTCPConnectionsPerSource: Int = 8, maxTCPConnectionsPerPrefix: Int = 16, tcpIdleTimeout: Int = 10,
        tcpMessageTimeout: Int = 5,
        maxBytesPerConnection: Int = 1 << 20, udpRepliesPerSourcePerSecond: Int = 20, maxInFlight: Int = 32, maxMessageSize: Int = 16384
    ) {
        self.maxTCPConnections = maxTCPConnections
        self.maxTCPConnectionsPerSource = maxTCPConnectionsPerSource
        self.maxTCPConnectionsPerPrefix = maxTCPConnectionsPerPrefix
        self.tcpIdleTimeout = tcpIdleTimeout
        self.tcpMessageTimeout = tcpMessageTimeout
        self.maxBytesPerConnection = maxBytesPerConnection
        self.udpRepliesPerSourcePerSecond = udpRepliesPerSourcePerSecond
        self.maxInFlight = maxInFlight
        self.maxMessageSize = maxMessageSize
    }
}

/// The server could not start: what, where and why.
public struct DNSServerError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// A DNS server on UDP and TCP (RFC 1035 §4.2, RFC 7766): several messages per TCP connection,
/// answered in order; idle timeout; bounded connections and requests in flight.
///
/// With a ``PrimaryRelay`` the server is a primary's front: the handler answers UPDATEs and every
/// other message goes to the relay (``PrimaryRelay/passes(_:)``), within the same limits. A TCP
/// connection then counts as idle only when neither side has sent anything for
/// `tcpIdleTimeout` (a zone transfer flows one way for a long time).
public struct DNSServer: Sendable {
    public let host: String
    public let port: Int
    public let limits: DNSServerLimits
    /// Where the messages that are not UPDATEs go; nil = the handler answers everything.
    public let relay: PrimaryRelay?
    let handler: DNSRequestHandler
    let logger: Logger

    public init(
        host: String, port: Int, limits: DNSServerLimits = DNSServerLimits(), relay: PrimaryRelay? = nil, logger: Logger,
        handler: @escaping DNSRequestHandler
    ) {
        self.host = host
        self.port = port
        self.limits = limits
        self.relay = relay
        self.logger = logger
        self.handler = handler
    }

    /// Binds both sockets, calls `onBound` with the bound port (useful with port 0), and serves
    /// until the task is cancelled.
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let tcp = try await listening(on: port, "TCP") {
            try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { [relay] channel in
                    channel.eventLoop.makeCompletedFuture {
                        // A front's connection is idle only when neither side sends (a transfer).
                        let idle = TimeAmount.seconds(Int64(limits.tcpIdleTimeout))
                        try channel.pipeline.syncOperations.addHandler(
                            relay == nil ? IdleStateHandler(readTimeout: idle) : IdleStateHandler(allTimeout: idle))
                        try channel.pipeline.syncOperations.addHandler(CloseOnIdleHandler())
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(
                                DNSTCPFrameDecoder(
                                    maxMessageSize: limits.maxMessageSize, messageTimeout: .seconds(Int64(limits.tcpMessageTimeout)),
                                    maxBytes: limits.maxBytesPerConnection)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        }
        let boundPort = tcp.channel.localAddress?.port ?? port
        let udp: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>
        do {
            udp = try await listening(on: boundPort, "UDP") {
                try await DatagramBootstrap(group: group)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: host, port: boundPort) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                        }
                    }
            }
        } catch {
            try? await tcp.channel.close()
            throw error
        }
        logger.info("listening", metadata: ["delegsync.address": "\(host)", "delegsync.port": "\(boundPort)"])
        onBound(boundPort)
        let udpGate = InFlightGate(limit: limits.maxInFlight)
        let tcpGate = InFlightGate(limit: limits.maxInFlight)
        let connections = ConnectionCount(
            total: limits.maxTCPConnections, perSource: limits.maxTCPConnectionsPerSource, perPrefix: limits.maxTCPConnectionsPerPrefix)
        let replies = ReplyRateLimit(perSecond: limits.udpRepliesPerSourcePerSecond)
        let answer: DNSRequestHandler = { [relay, handler] bytes, context in
            guard let relay, PrimaryRelay.passes(bytes) else { return await handler(bytes, context) }
            return await relay.exchange(bytes)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await udp.executeThenClose { inbound, outbound in
                    try await withThrowingDiscardingTaskGroup { requests in
                        for try await envelope in inbound {
                            let remote = envelope.remoteAddress
                            let address = remote.ipAddress ?? "?"
                            guard envelope.data.readableBytes <= limits.maxMessageSize, replies.admit(address), udpGate.tryEnter() else { continue }
                            let bytes = Array(envelope.data.readableBytesView)
                            let context = DNSRequestContext(sourceAddress: address, sourcePort: remote.port ?? 0, transport: .udp)
                            requests.addTask {
                                defer { udpGate.leave() }
                                guard let response = await answer(bytes, context) else { return }
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
                            let address = connection.channel.remoteAddress?.ipAddress ?? "?"
                            guard connections.open(address) else {
                                try? await connection.channel.close()
                                continue
                            }
                            clients.addTask {
                                defer { connections.close(address) }
                                await serve(connection, gate: tcpGate)
                            }
                        }
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Runs `bind`; a failure names the address, the port and the system's reason
    /// (`cannot listen on 127.0.0.1 port 53 (TCP): Address already in use`).
    func listening<Channel>(on port: Int, _ transport: String, _ bind: () async throws -> Channel) async throws -> Channel {
        do {
            return try await bind()
        } catch {
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
            throw DNSServerError(description: "cannot listen on \(host) port \(port) (\(transport)): \(reason)")
        }
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, gate: InFlightGate) async {
        let remote = connection.channel.remoteAddress
        let context = DNSRequestContext(sourceAddress: remote?.ipAddress ?? "?", sourcePort: remote?.port ?? 0, transport: .tcp)
        do {
            try await connection.executeThenClose { inbound, outbound in
                if let relay {
                    try await relay.serve(inbound, outbound, client: connection.channel) { [handler] message in
                        await gate.enter()
                        defer { gate.leave() }
                        return await handler(message, context)
                    }
                    return
                }
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
/// Closes the connection (by throwing) when a length is over the limit, when one message takes
/// longer than `messageTimeout` from its first octet (slow senders: the idle timer restarts on
/// every byte), or when the connection has sent more than `maxBytes` in all.
struct DNSTCPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxMessageSize: Int
    var messageTimeout: TimeAmount = .seconds(5)
    var maxBytes: Int = .max
    /// When the message now being received began; nil between messages.
    private var started: NIODeadline? = nil
    /// Octets of complete messages so far.
    private var consumed = 0

    init(maxMessageSize: Int, messageTimeout: TimeAmount = .seconds(5), maxBytes: Int = .max) {
        self.maxMessageSize = maxMessageSize
        self.messageTimeout = messageTimeout
        self.maxBytes = maxBytes
    }

    struct TooLarge: Error {}
    struct TooSlow: Error {}
    struct OverBudget: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes > 0 else {
            started = nil
            return .needMoreData
        }
        let now = NIODeadline.now()
        if let started, now - started > messageTimeout { throw TooSlow() }
        if started == nil { started = now }
        guard consumed + buffer.readableBytes <= maxBytes else { throw OverBudget() }
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return .needMoreData }
        guard Int(length) <= maxMessageSize else { throw TooLarge() }
        guard buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        consumed += 2 + Int(length)
        started = nil
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

/// Open TCP connections, in total, per source address and per source prefix (RFC 7766 §6.2: a
/// server should limit them per client as well as in total, so one client cannot take every slot).
final class ConnectionCount: Sendable {
    let total: Int
    let perSource: Int
    let perPrefix: Int
    private let state = NIOLockedValueBox<(total: Int, counts: [String: Int])>((0, [:]))

    init(total: Int, perSource: Int, perPrefix: Int) {
        self.total = total
        self.perSource = perSource
        self.perPrefix = perPrefix
    }

    /// Counts a new connection from `address`; false when a limit is reached.
    func open(_ address: String) -> Bool {
        let prefix = "p " + SourcePrefix.of(address)
        return state.withLockedValue { state in
            guard state.total < total, state.counts[address, default: 0] < perSource, state.counts[prefix, default: 0] < perPrefix else { return false }
            state.total += 1
            state.counts[address, default: 0] += 1
            state.counts[prefix, default: 0] += 1
            return true
        }
    }

    func close(_ address: String) {
        let prefix = "p " + SourcePrefix.of(address)
        state.withLockedValue { state in
            state.total -= 1
            for key in [address, prefix] {
                let left = state.counts[key, default: 1] - 1
                state.counts[key] = left > 0 ? left : nil
            }
        }
    }
}

/// Response rate limiting for UDP (in the spirit of BIND's RRL): at most `perSecond` replies a
/// second to one source address, so spoofed requests cannot turn the agent into a reflector.
final class ReplyRateLimit: Sendable {
    let perSecond: Int
    private let state = NIOLockedValueBox<(second: Int64, counts: [String: Int])>((0, [:]))

    init(perSecond: Int) { self.perSecond = perSecond }

    func admit(_ address: String, now: Int64 = Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000_000)) -> Bool {
        guard perSecond > 0 else { return true }
        return state.withLockedValue { state in
            if state.second != now { state = (now, [:]) }
            let count = state.counts[address, default: 0]
            guard count < perSecond else { return false }
            state.counts[address] = count + 1
            return true
        }
    }
}
