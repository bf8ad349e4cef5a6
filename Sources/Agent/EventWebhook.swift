import NIOCore
import NIOHTTP1
import NIOPosix

/// POSTs one event document to the `events.webhook` URL (HTTP/1.1, RFC 9112): one request per
/// connection (`Connection: close`), `Content-Type: application/json`, and the reply's status
/// code back; a 2xx status is a delivery. Connect, send and reply together take at most
/// `timeout`.
struct EventWebhook: Sendable {
    let url: WebhookURL
    let timeout: TimeAmount

    /// Why a POST did not get a status code.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The reply's status code.
    func post(_ body: String) async throws -> Int {
        let deadline = NIODeadline.now() + timeout
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: Int.self)
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(EventWebhookReplyHandler(promise: promise))
                    }
                }
                .connect(host: url.host, port: url.port).get()
        } catch {
            promise.fail(error)
            throw Failure(description: "cannot connect to \(url): \(error)")
        }
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) { [url, timeout] in
            promise.fail(Failure(description: "\(url) did not reply within \(timeout.nanoseconds / 1_000_000_000) s"))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.hostHeader)
        headers.add(name: "User-Agent", value: "delegsync/\(AgentVersion.current)")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: url.path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            return try await promise.futureResult.get()
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure(description: "\(url): \(error)")
        }
    }
}

/// Completes the promise with the reply's status code once the whole reply has arrived; a
/// connection closed before that, or an error, fails it.
final class EventWebhookReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<Int>
    var status: Int?

    init(promise: EventLoopPromise<Int>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end:
            if let status { promise.succeed(status) }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(EventWebhook.Failure(description: "the server closed the connection before its whole reply"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
