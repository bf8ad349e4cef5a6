import Logging
import ServiceLifecycle
import UnixSignals

/// Start, graceful shutdown and reload for both daemons (`serve` and `child watch`), on
/// swift-service-lifecycle: SIGTERM and SIGINT shut the services down gracefully, SIGHUP asks for
/// a reload. From the first call on, these three signals no longer end the process by themselves.
public enum DaemonLifecycle {
    /// Runs `services` in one `ServiceGroup` until SIGTERM or SIGINT, or until one of them ends or
    /// fails (then the rest are cancelled and the failure is thrown). On shutdown the services
    /// are stopped one at a time **in reverse order**: list what accepts work last, so it stops
    /// first and what drains the work finishes what it has. Each SIGHUP runs `reload`.
    public static func run(
        services: [(name: String, service: any Service)], logger: Logger, reload: @escaping @Sendable () async -> Void
    ) async throws {
        let reloader = ClosureService {
            for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                await reload()
            }
        }
        var configurations = [
            ServiceGroupConfiguration.ServiceConfiguration(service: reloader, successTerminationBehavior: .ignore, serviceName: "reload")
        ]
        configurations += services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0.service, serviceName: $0.name) }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: configurations, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The daemon's signals as a stream, for a daemon that drains its own work: `.stop` once for
    /// SIGTERM or SIGINT (then the stream ends), `.reload` for each SIGHUP.
    public static func signals() -> AsyncStream<DaemonSignal> {
        AsyncStream { continuation in
            let task = Task {
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup) {
                    if signal == .sighup {
                        continuation.yield(.reload)
                    } else {
                        continuation.yield(.stop)
                        break
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// What a signal asks of a daemon.
public enum DaemonSignal: Sendable, Equatable {
    case stop
    case reload
}

/// A service that runs `body` until the task is cancelled or the group shuts down gracefully (for
/// servers that end only when cancelled); being stopped by the shutdown is a clean end.
public struct CancelOnShutdownService: Service {
    let body: @Sendable () async throws -> Void

    public init(_ body: @escaping @Sendable () async throws -> Void) { self.body = body }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await body() }
        } catch is CancellationError where Task.isShuttingDownGracefully {
            return
        }
    }
}
