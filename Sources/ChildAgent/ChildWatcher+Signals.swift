import DaemonSupport

extension ChildWatcher {
    /// SIGTERM and SIGINT as ``Event/stop``, SIGHUP as ``Event/reload``, for
    /// ``run(events:onReady:)`` (``DaemonLifecycle/signals()``). From the first call on, the three
    /// signals no longer end the process by themselves (a daemon calls this once).
    public static func signalEvents() -> AsyncStream<Event> {
        let signals = DaemonLifecycle.signals()
        return AsyncStream { continuation in
            let task = Task {
                for await signal in signals { continuation.yield(signal == .reload ? .reload : .stop) }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
