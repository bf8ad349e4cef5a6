import NIOCore
import NIOPosix

/// A DNS client for single exchanges with one server (RFC 1035 §4.2): over TCP with the two-octet
/// length prefix (RFC 7766 §8), over UDP waiting for a datagram from that server with the request's
/// ID. It sends the bytes it is given (no retries, no recursion flag changes, no TC fallback).
/// ``transfer(_:host:port:limit:isLast:)`` reads an answer of several messages on one TCP
/// connection, as a zone transfer sends it (RFC 5936 §2.2).
///
/// Limitations: one request per TCP connection (no pipelining); a truncated UDP answer is
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
        try await answers(to: message, host: host, port: port, transport: transport, limit: 65535, isLast: { _, _ in true })[0]
    }

    /// Sends `message` over TCP and returns the answer messages carrying its ID, in order, up to
    /// and including the first one `isLast` accepts (it gets each message and its index) — the
    /// messages of a zone transfer, for instance (RFC 5936 §2.2: the caller knows the end by the
    /// closing SOA). ``timeout`` bounds the whole transfer; more than `limit` octets in all, or a
    /// connection closed before the last message, throw ``DNSClientError``.
    public func transfer(
        _ message: [UInt8], host: String, port: Int, limit: Int = 64 << 20, isLast: @escaping @Sendable (_ message: [UInt8], _ index: Int) -> Bool
    ) async throws -> [[UInt8]] {
        try await answers(to: message, host: host, port: port, transport: .tcp, limit: limit, isLast: isLast)
    }

    func answers(
        to message: [UInt8], host: String, port: Int, transport: DNSTransportKind, limit: Int, isLast: @escaping @Sendable ([UInt8], Int) -> Bool
    ) async throws -> [[UInt8]] {
        guard message.count >= 12, message.count <= 65535 else {
            throw DNSClientError(.badRequest, server: host, port: port, transport: transport, "a request of \(message.count) octets is not a DNS message")
        }
        let id = UInt16(message[0]) << 8 | UInt16(message[1])
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let deadline = NIODeadline.now() + .nanoseconds(nanoseconds)
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: [[UInt8]].self)
        let channel: Channel
        do {
            switch transport {
            case .tcp:
                channel = try await ClientBootstrap(group: eventLoop)
                    .connectTimeout(.nanoseconds(nanoseconds))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSTCPFrameDecoder(maxMessageSize: 65535)))
                            try channel.pipeline.syncOperations.addHandler(DNSAnswerHandler(id: id, limit: limit, isLast: isLast, promise: promise))
                        }
                    }
                    .connect(host: host, port: port).get()
                try await channel.writeAndFlush(ByteBuffer(bytes: TCPFraming.frame(message))).get()
            case .udp:
                let remote = try SocketAddress.makeAddressResolvingHost(host, port: port)
                let local = remote.protocol == .inet6 ? "::" : "0.0.0.0"
                channel = try await DatagramBootstrap(group: eventLoop)
                    // A whole datagram, however large (the default keeps 2048 octets).
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65535))
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
        } catch let error as DNSAnswerHandler.TooLong {
            throw DNSClientError(.tooLong, server: host, port: port, transport: transport, "\(error)")
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
        /// A transfer's answer went over its limit.
        public static let tooLong = Code(name: "answer too long")
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

/// Collects the TCP messages whose ID matches and completes the promise with them once
/// `isLast` accepts one; more than `limit` octets, or an ended stream, fail it.
final class DNSAnswerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let id: UInt16
    let limit: Int
    let isLast: @Sendable ([UInt8], Int) -> Bool
    let promise: EventLoopPromise<[[UInt8]]>
    var answers: [[UInt8]] = []
    var octets = 0

    init(id: UInt16, limit: Int, isLast: @escaping @Sendable ([UInt8], Int) -> Bool, promise: EventLoopPromise<[[UInt8]]>) {
        self.id = id
        self.limit = limit
        self.isLast = isLast
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        guard frame.readableBytes >= 12, frame.getInteger(at: frame.readerIndex, as: UInt16.self) == id else { return }
        let answer = Array(frame.readableBytesView)
        octets += answer.count
        guard octets <= limit else {
            promise.fail(TooLong(limit: limit))
            context.close(promise: nil)
            return
        }
        answers.append(answer)
        if isLast(answer, answers.count - 1) { promise.succeed(answers) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ConnectionClosed(received: answers.count))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    struct ConnectionClosed: Error, CustomStringConvertible {
        /// Messages of the answer that did arrive (a transfer cut short).
        var received = 0
        var description: String {
            received == 0
                ? "the server closed the connection without an answer"
                : "the server closed the connection after \(received) message(s) of the answer, before its last"
        }
    }

    struct TooLong: Error, CustomStringConvertible {
        let limit: Int
        var description: String { "the answer is longer than \(limit) octets" }
    }
}

/// Completes the promise with the first datagram from the server carrying the request's ID
/// (RFC 5452 §9.1: anything else is ignored).
final class DNSDatagramAnswerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let id: UInt16
    let remote: SocketAddress
    let promise: EventLoopPromise<[[UInt8]]>

    init(id: UInt16, remote: SocketAddress, promise: EventLoopPromise<[[UInt8]]>) {
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
        promise.succeed([Array(data.readableBytesView)])
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
