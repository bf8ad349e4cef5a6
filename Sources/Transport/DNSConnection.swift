import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One TCP connection to a DNS server, kept open and shared by every caller that talks to that
/// server: RFC 7766 §6.2.1 (connection reuse) and §6.2.1.1 (pipelining — several requests
/// outstanding at once, each answer matched to its request by ID, in whatever order the server
/// sends them). It connects on first use and again after the server closes the connection (an
/// idle timeout, RFC 7766 §6.2.3) or an error.
///
/// A request that was sent but not answered because the connection closed is sent once more on
/// a new connection: callers must only send requests that are safe to repeat (queries, and
/// UPDATEs whose second application changes nothing — what ``DelegationBackend`` requires). A
/// request whose ID is already outstanding on the connection goes over a connection of its own.
/// Each exchange has ``timeout`` for its answer; when it expires the connection is closed, so a
/// server that stopped answering does not hold later requests.
///
/// Limitations: one answer per request (no zone transfers; ``DNSClient/transfer(_:host:port:limit:isLast:)``
/// does those on a connection of their own); no EDNS TCP keepalive option (RFC 7828).
public final class DNSConnection: Sendable {
    public let host: String
    public let port: Int
    /// How long one exchange (connect, send, answer) may take.
    public let timeout: Duration
    private let slot = NIOLockedValueBox<Slot>(.idle)
    /// Connections opened so far (the first one included): what tests and metrics look at.
    private let opened = NIOLockedValueBox(0)

    enum Slot {
        case idle
        case connecting(EventLoopFuture<Channel>)
        case open(Channel)
    }

    public init(host: String, port: Int, timeout: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    /// How many TCP connections this value has opened.
    public var connectionsOpened: Int { opened.withLockedValue { $0 } }

    /// Sends `message` and returns the answer carrying its ID. Throws ``DNSClientError`` when the
    /// server cannot be reached, does not answer within ``timeout``, or closes the connection
    /// twice without answering.
    public func exchange(_ message: [UInt8]) async throws -> [UInt8] {
        guard message.count >= 12, message.count <= 65535 else {
            throw DNSClientError(.badRequest, server: host, port: port, transport: .tcp, "a request of \(message.count) octets is not a DNS message")
        }
        do {
            return try await exchangeOnce(message)
        } catch is DNSPipelineHandler.ConnectionClosed {
            // Sent but not answered (the server closed the connection, perhaps an idle timeout
            // crossing our request): once more, on a new connection.
            do {
                return try await exchangeOnce(message)
            } catch is DNSPipelineHandler.ConnectionClosed {
                throw DNSClientError(.connection, server: host, port: port, transport: .tcp, "the server closed the connection twice without answering")
            }
        } catch is DNSPipelineHandler.IDInUse {
            return try await DNSClient(timeout: timeout).exchange(message, host: host, port: port, transport: .tcp)
        }
    }

    private var nanoseconds: Int64 {
        timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
    }

    func exchangeOnce(_ message: [UInt8]) async throws -> [UInt8] {
        let deadline = NIODeadline.now() + .nanoseconds(nanoseconds)
        let channel = try await connectedChannel()
        let promise = channel.eventLoop.makePromise(of: [UInt8].self)
        channel.writeAndFlush(DNSPipelineHandler.Request(message: message, answer: promise)).whenFailure { _ in
            promise.fail(DNSPipelineHandler.ConnectionClosed())
        }
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) { [host, port, timeout] in
            promise.fail(DNSClientError(.timeout, server: host, port: port, transport: .tcp, "no answer within \(timeout)"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    /// The open connection, or a new one (one connect at a time, shared by concurrent callers).
    func connectedChannel() async throws -> Channel {
        let future: EventLoopFuture<Channel> = slot.withLockedValue { slot in
            switch slot {
            case .open(let channel) where channel.isActive:
                return channel.eventLoop.makeSucceededFuture(channel)
            case .connecting(let future):
                return future
            default:
                let future = connect()
                slot = .connecting(future)
                return future
            }
        }
        do {
            return try await future.get()
        } catch {
            let timedOut = "\(error)".contains("connectTimeout")
            throw DNSClientError(timedOut ? .timeout : .connection, server: host, port: port, transport: .tcp, "\(error)")
        }
    }

    private func connect() -> EventLoopFuture<Channel> {
        opened.withLockedValue { $0 += 1 }
        let future = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSTCPFrameDecoder(maxMessageSize: 65535)))
                    try channel.pipeline.syncOperations.addHandler(DNSPipelineHandler())
                }
            }
            .connect(host: host, port: port)
        future.whenComplete { [slot] result in
            slot.withLockedValue { slot in
                guard case .connecting(let pending) = slot, pending === future else { return }
                switch result {
                case .success(let channel): slot = .open(channel)
                case .failure: slot = .idle
                }
            }
        }
        return future
    }

    /// Closes the connection (outstanding exchanges fail; the next one connects again).
    public func close() {
        let channel: Channel? = slot.withLockedValue { slot in
            defer { slot = .idle }
            if case .open(let channel) = slot { return channel }
            return nil
        }
        channel?.close(promise: nil)
    }
}

/// Several requests outstanding on one TCP connection (RFC 7766 §6.2.1.1): writes each framed
/// request and completes its promise with the answer that carries its ID; answers with an ID
/// nobody waits for are dropped. When the connection ends, every outstanding request fails with
/// ``ConnectionClosed``.
final class DNSPipelineHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Request
    typealias OutboundOut = ByteBuffer

    struct Request: Sendable {
        let message: [UInt8]
        let answer: EventLoopPromise<[UInt8]>
    }

    /// The connection closed before the answer came.
    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "the server closed the connection without an answer" }
    }

    /// Another request with this ID is outstanding on the connection.
    struct IDInUse: Error {}

    private var outstanding: [UInt16: EventLoopPromise<[UInt8]>] = [:]
    private var closed = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = Self.unwrapOutboundIn(data)
        let id = UInt16(request.message[0]) << 8 | UInt16(request.message[1])
        guard !closed else {
            request.answer.fail(ConnectionClosed())
            promise?.succeed(())
            return
        }
        guard outstanding[id] == nil else {
            request.answer.fail(IDInUse())
            promise?.succeed(())
            return
        }
        outstanding[id] = request.answer
        context.write(Self.wrapOutboundOut(ByteBuffer(bytes: TCPFraming.frame(request.message))), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        guard frame.readableBytes >= 12, let id = frame.getInteger(at: frame.readerIndex, as: UInt16.self) else { return }
        outstanding.removeValue(forKey: id)?.succeed(Array(frame.readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll()
        context.close(promise: nil)
    }

    private func failAll() {
        closed = true
        let waiting = outstanding.values
        outstanding = [:]
        for answer in waiting { answer.fail(ConnectionClosed()) }
    }
}

/// The persistent connections of one process, one per server address and port
/// (``DNSConnection``): the agent's reads of the parent zone and its UPDATEs to the primary share
/// them. UDP exchanges go through a ``DNSClient`` each.
public final class DNSConnectionPool: Sendable {
    public let timeout: Duration
    private let connections = NIOLockedValueBox<[String: DNSConnection]>([:])

    public init(timeout: Duration = .seconds(5)) {
        self.timeout = timeout
    }

    /// The connection to `host`:`port`, opened on first use.
    public func connection(host: String, port: Int) -> DNSConnection {
        connections.withLockedValue { connections in
            let key = "\(host)#\(port)"
            if let connection = connections[key] { return connection }
            let connection = DNSConnection(host: host, port: port, timeout: timeout)
            connections[key] = connection
            return connection
        }
    }

    /// Sends `message` to `host`:`port` and returns the answer: over TCP on the shared
    /// connection, over UDP as a single exchange.
    public func exchange(_ message: [UInt8], host: String, port: Int, transport: DNSTransportKind) async throws -> [UInt8] {
        switch transport {
        case .tcp: try await connection(host: host, port: port).exchange(message)
        case .udp: try await DNSClient(timeout: timeout).exchange(message, host: host, port: port, transport: .udp)
        }
    }

    /// Closes every connection.
    public func closeAll() {
        for connection in connections.withLockedValue({ Array($0.values) }) { connection.close() }
    }
}
