import Foundation

/// Turns SIGTERM, SIGINT and SIGHUP into an async stream (the parent's and the child's
/// daemons alike). From then on the three signals no longer end the process by themselves.
public final class SignalWatcher: @unchecked Sendable {
    // The dispatch sources are only kept alive here, never touched after init.
    public let stream: AsyncStream<Int32>
    let sources: [any DispatchSourceSignal]

    public init() {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }
}
