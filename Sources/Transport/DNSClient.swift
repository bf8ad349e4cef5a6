import NIOCore
import NIOPosix

/// A DNS client for single exchanges with one server (RFC 1035 §4.2): over TCP with the two-octet
/// length prefix (RFC 7766 §8), over UDP waiting for a datagram from that server with the request's
/// ID. It sends the bytes it is given (no retries, no recursion flag changes, no TC fallback).
///
/// Limitations: one message per TCP connection (no pipelining); a truncated UDP answer is
/// returned as it is, the caller decides whether to repeat over TCP.
public struct DNSClient: Sendable {
    /// How long one exchange (connect, send, answer) may take in all.
    public let timeout: Duration

    public init(timeout: Duration = .seconds(5)) {
        self.timeout = timeout
    }

    /// Sends `message` to `host`:`port` and returns the answer. Throws ``DNSClientError`` when
    /// the server does not answer within ``timeout``, refuses the connection, or the message
    /// is not a DNS message (shorter than the 12-octet header).
    public func exchange(_ message: [UInt8], host: String, port: Int, transport: DNSTransportKind) async throws -> [UInt8] {
        guard message.count >= 12, message.count <= 65535 else {
            throw DNSClientError(.badRequest, server: host, port: port, transport: transport, "a request of \(message.count) octets is not a DNS message")
        }
        let id = UInt16(message[0]) << 8 | UInt16(message[1])
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let deadline = NIODeadline.now() + .nanoseconds(nanoseconds)
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: [UInt8].self)
        let channel: Channel
        do {
            switch transport {
            case .tcp:
                channel = try await ClientBootstrap(group: eventLoop)
                    .connectTimeout(.nanoseconds(nanoseconds))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSTCPFrameDecoder(maxMessageSize: 65535)))
                            try channel.pipeline.syncOperations.addHandler(DNSAnswerHandler(id: id, promise: promise))
                        }
                    }
                    .connect(host: host, port: port).get()
                try await channel.writeAndFlush(ByteBuffer(bytes: TCPFraming.frame(message))).get()
            case .udp:
                let remote = try SocketAddress.makeAddressResolvingHost(host, port: port)
                let local = remote.protocol == .inet6 ? "::" : "0.0.0.0"
                channel = try await DatagramBootstrap(group: eventLoop)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(DNSDatagramAnswerHandler(id: id, remote: remote, promise: promise))
                        }
                    }
                    .bind(host: local, port: 0).get()
                try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: message))).get()
            }
        } catch {
            promise.fail(error)
            let timedOut = NIODeadline.now() >= deadline || "\(error)".contains("connectTimeout")
            throw DNSClientError(timedOut ? .timeout : .connection, server: host, port: port, transport: transport, "\(error)")
        }
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(DNSClientError(.timeout, server: host, port: port, transport: transport, "no answer within \(timeout)"))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as DNSClientError {
            throw error
        } catch {
            throw DNSClientError(.connection, server: host, port: port, transport: transport, "\(error)")
        }
    }
}

/// Why an exchange failed; the text names the server. Callers switch on ``code``.
public struct DNSClientError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// The server did not answer in time.
        public static let timeout = Code(name: "timeout")
        /// The connection could not be made or broke before the answer.
        public static let connection = Code(name: "connection failed")
        /// The request was not a DNS message.
        public static let badRequest = Code(name: "bad request")
    }

    public let code: Code
    /// "127.0.0.1:53 over tcp".
    public let server: String
    public let detail: String

    init(_ code: Code, server host: String, port: Int, transport: DNSTransportKind, _ detail: String) {
        self.code = code
        self.server = (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)") + " over \(transport)"
        self.detail = detail
    }

    public var description: String { "\(server): \(code): \(detail)" }
}

/// Completes the promise with the first TCP message whose ID matches; an ended stream fails it.
final class DNSAnswerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let id: UInt16
    let promise: EventLoopPromise<[UInt8]>

    init(id: UInt16, promise: EventLoopPromise<[UInt8]>) {
        self.id = id
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        guard frame.readableBytes >= 12, frame.getInteger(at: frame.readerIndex, as: UInt16.self) == id else { return }
        promise.succeed(Array(frame.readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ConnectionClosed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "the server closed the connection without an answer" }
    }
}

/// Completes the promise with the first datagram from the server carrying the request's ID
/// (RFC 5452 §9.1: anything else is ignored).
final class DNSDatagramAnswerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let id: UInt16
    let remote: SocketAddress
    let promise: EventLoopPromise<[UInt8]>

    init(id: UInt16, remote: SocketAddress, promise: EventLoopPromise<[UInt8]>) {
        self.id = id
        self.remote = remote
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        let data = envelope.data
        guard envelope.remoteAddress == remote, data.readableBytes >= 12,
            data.getInteger(at: data.readerIndex, as: UInt16.self) == id
        else { return }
        promise.succeed(Array(data.readableBytesView))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable and the like surface here on some systems; keep waiting for the
        // deadline unless the channel is gone.
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DNSAnswerHandler.ConnectionClosed())
        context.fireChannelInactive()
    }
}
