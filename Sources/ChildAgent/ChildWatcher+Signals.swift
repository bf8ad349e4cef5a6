import DaemonSupport
import Foundation

extension ChildWatcher {
    /// SIGTERM and SIGINT as ``Event/stop``, SIGHUP as ``Event/reload``, for
    /// ``run(events:onReady:)``. From the first call on, the three signals no longer end the
    /// process by themselves (a daemon calls this once).
    public static func signalEvents() -> AsyncStream<Event> {
        let signals = SignalWatcher()
        return AsyncStream { continuation in
            let task = Task {
                for await number in signals.stream { continuation.yield(number == SIGHUP ? .reload : .stop) }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
