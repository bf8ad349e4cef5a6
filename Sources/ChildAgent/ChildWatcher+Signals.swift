import Dispatch
import Foundation

extension ChildWatcher {
    /// SIGTERM and SIGINT as ``Event/stop``, SIGHUP as ``Event/reload``, for
    /// ``run(events:onReady:)``. From the first call on, the three signals no longer end the
    /// process by themselves; ending the stream restores nothing (a daemon calls this once).
    public static func signalEvents() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        let sources = SignalSources(
            [(SIGTERM, .stop), (SIGINT, .stop), (SIGHUP, .reload)],
            deliver: { event in continuation.yield(event) })
        continuation.onTermination = { _ in sources.cancel() }
        return stream
    }
}

/// Dispatch sources turning signals into events; they live as long as the stream that owns them.
final class SignalSources: @unchecked Sendable {
    // Written once in init; afterwards only cancelled.
    let sources: [any DispatchSourceSignal]

    init(_ signals: [(Int32, ChildWatcher.Event)], deliver: @escaping @Sendable (ChildWatcher.Event) -> Void) {
        var sources: [any DispatchSourceSignal] = []
        for (number, event) in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { deliver(event) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
