import Backends
import DaemonSupport
import DNSWire
import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import SIG0
import ServiceLifecycle
import Store
import Transport

/// The running parental agent: a DNS server per listen address and per zone front (UPDATEs
/// decided here, the rest relayed to the primary), the outbox worker, and signal handling
/// (SIGTERM/SIGINT: finish and exit; SIGHUP: re-read the configuration).
public final class AgentRuntime: Sendable {
    let store: any DelegationStore
    let logger: Logger
    let makeBackend: @Sendable (AgentConfiguration.Zone) throws -> any DelegationBackend
    let state:
        NIOLockedValueBox<(configuration: AgentConfiguration, receiver: UpdateReceiver, worker: OutboxWorker, bootstrap: BootstrapWorker, scans: ScanWorker)>
    let reader: PrimaryZoneReader
    /// One set of counters for the agent's life, across configuration reloads.
    public let metrics = AgentMetrics()
    /// Refusals of unauthenticated requests, counted per minute (across reloads too).
    let audits = AuditAggregator()
    /// Operator events (`events`): one queue for the agent's life, its settings follow reloads.
    public let events: AgentEvents
    /// Scans NOTIFYs scheduled (across reloads too).
    let scanQueue = ScanQueue()

    public init(
        configuration: AgentConfiguration, store: any DelegationStore, logger: Logger,
        makeBackend: @escaping @Sendable (AgentConfiguration.Zone) throws -> any DelegationBackend
    ) throws {
        self.store = store
        self.logger = logger
        self.makeBackend = makeBackend
        let client = DNSClient()
        self.reader = PrimaryZoneReader { message, host, port, transport in
            try await client.exchange(message, host: host, port: port, transport: transport)
        }
        let events = AgentEvents(
            store: store, logger: logger, metrics: metrics, capacity: configuration.events?.queueSize ?? AgentConfiguration.Events().queueSize)
        self.events = events
        state = NIOLockedValueBox(
            try Self.build(
                configuration, store: store, reader: reader, logger: logger, metrics: metrics, audits: audits, events: events, scanQueue: scanQueue, makeBackend: makeBackend))
        events.configure(configuration)
    }

    static func build(
        _ configuration: AgentConfiguration, store: any DelegationStore, reader: PrimaryZoneReader, logger: Logger, metrics: AgentMetrics,
        audits: AuditAggregator, events: AgentEvents, scanQueue: ScanQueue, makeBackend: (AgentConfiguration.Zone) throws -> any DelegationBackend
    ) throws -> (AgentConfiguration, UpdateReceiver, OutboxWorker, BootstrapWorker, ScanWorker) {
        var backends: [DomainName: any DelegationBackend] = [:]
        for zone in configuration.zones { backends[zone.name] = try makeBackend(zone) }
        let clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
        var identity: SIG0Signer? = nil
        if let path = configuration.identityKeyFile {
            do {
                identity = try SIG0Signer(keyFile: BINDKeyFile.load(path: path, requirePrivate: true))
            } catch {
                throw ConfigurationError(file: path, key: "", problem: "the receiver's key cannot be used: \(error)")
            }
        }
        // The content checks ask the child's servers while the child waits for its reply: a
        // short timeout per exchange (the child agent waits 5 s for the whole answer).
        let probeClient = DNSClient(timeout: .seconds(2))
        let contentProbe = ChildContentProbe(exchange: { message, host, port, transport in
            try await probeClient.exchange(message, host: host, port: port, transport: transport)
        })
        let receiver = UpdateReceiver(
            configuration: configuration, store: store, backends: backends, reader: reader, contentProbe: contentProbe, clock: clock, logger: logger,
            identity: identity, metrics: metrics, audits: audits, events: events,
            statusSecret: try store.statusSecret(), scans: scanQueue)
        let worker = OutboxWorker(
            configuration: configuration, store: store, backends: backends, reader: reader, contentProbe: contentProbe, logger: logger, metrics: metrics,
            events: events)
        let client = DNSClient()
        let bootstrap = BootstrapWorker(
            configuration: configuration, store: store, reader: reader, backends: backends,
            exchange: { message, host, port, transport in
                try await client.exchange(message, host: host, port: port, transport: transport)
            }, logger: logger, events: events)
        let scanClient = DNSClient(timeout: .seconds(5))
        let scans = ScanWorker(
            configuration: configuration, store: store, reader: reader, delegations: { try await reader.delegations(in: $0) }, receiver: receiver,
            queue: scanQueue,
            scanner: ChildScanner(exchange: { message, host, port, transport in
                try await scanClient.exchange(message, host: host, port: port, transport: transport)
            }), logger: logger, metrics: metrics, startedAt: clock())
        return (configuration, receiver, worker, bootstrap, scans)
    }

    /// Re-reads the configuration; on an error the old one stays in force.
    public func reload(path: String) {
        do {
            let configuration = try AgentConfiguration.load(path: path)
            let built = try Self.build(
                configuration, store: store, reader: reader, logger: logger, metrics: metrics, audits: audits, events: events, scanQueue: scanQueue, makeBackend: makeBackend)
            state.withLockedValue { $0 = built }
            events.configure(configuration)
            logger.notice("configuration reloaded", metadata: ["delegsync.config": "\(path)"])
        } catch {
            logger.error("configuration not reloaded, the old one stays in force", metadata: ["delegsync.error": "\(error)"])
        }
    }

    /// Serves until SIGTERM or SIGINT (``DaemonLifecycle``): the listeners stop first, then the
    /// worker finishes the commit it is in and the audit is flushed. SIGHUP re-reads the
    /// configuration. `onReady` gets the bound ports, in listen order.
    public func run(configPath: String, onReady: @escaping @Sendable ([Int]) -> Void = { _ in }) async throws {
        let configuration = state.withLockedValue { $0.configuration }
        let handler: DNSRequestHandler = { [state] bytes, context in
            let receiver = state.withLockedValue { $0.receiver }
            return await receiver.handle(bytes, context: context)
        }
        let ports = NIOLockedValueBox<[Int: Int]>([:])
        let listenCount = configuration.listen.count
        // Stopped in reverse order: the listeners first, then the scanner and the worker, the event
        // delivery last.
        var services: [(name: String, service: any Service)] = [
            ("events", CancelOnShutdownService { [events] in await events.deliver() }),
            ("worker", ClosureService { [self] in await self.work() }), ("scanner", ClosureService { [self] in await self.scan() }),
        ]
        if let listen = configuration.metrics {
            let server = MetricsServer(host: listen.address, port: listen.port, logger: logger) { [metrics, store] in
                metrics.exposition(store: store)
            }
            services.append(("metrics", CancelOnShutdownService { try await server.run() }))
        }
        for (index, listen) in configuration.listen.enumerated() {
            let server = DNSServer(host: listen.address, port: listen.port, limits: configuration.limits.server, logger: logger, handler: handler)
            services.append(
                (
                    "listener \(listen.address) port \(listen.port)",
                    CancelOnShutdownService {
                        try await server.run { port in
                            let all = ports.withLockedValue { value -> [Int]? in
                                value[index] = port
                                return value.count == listenCount ? (0..<listenCount).map { value[$0]! } : nil
                            }
                            if let all { onReady(all) }
                        }
                    }
                ))
        }
        for (front, primary) in Self.fronts(configuration) {
            let server = DNSServer(
                host: front.address, port: front.port, limits: configuration.limits.server, relay: primary, logger: logger, handler: handler)
            logger.info(
                "front of the primary", metadata: ["delegsync.front": "\(front.address):\(front.port)", "delegsync.primary": "\(primary.description)"])
            services.append(("front \(front.address) port \(front.port)", CancelOnShutdownService { try await server.run() }))
        }
        try await DaemonLifecycle.run(services: services, logger: logger) { [weak self] in
            self?.reload(path: configPath)
        }
        state.withLockedValue { $0.receiver }.flushAudit(now: nil)
    }

    /// The outbox and bootstrap workers, the audit flush and the hourly prune, every 2 s until
    /// the group shuts down: a commit in progress is finished, not cancelled.
    func work() async {
        var prunedAt: Int64 = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let (configuration, receiver, worker, bootstrap) = state.withLockedValue { ($0.configuration, $0.receiver, $0.worker, $0.bootstrap) }
            await worker.runOnce(now: Int64(Date().timeIntervalSince1970))
            await bootstrap.runOnce(now: Int64(Date().timeIntervalSince1970))
            let now = Int64(Date().timeIntervalSince1970)
            receiver.flushAudit(now: now)
            events.review(now: now)
            if now - prunedAt >= 3600 {
                prunedAt = now
                Self.prune(store: store, configuration: configuration, now: now, logger: logger)
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) }
        }
        logger.notice("stopping")
    }

    /// Each distinct front with the primary it relays to (zones sharing a front share the
    /// primary: the configuration checks it).
    static func fronts(_ configuration: AgentConfiguration) -> [(AgentConfiguration.Listen, PrimaryRelay)] {
        var seen: Set<AgentConfiguration.Listen> = []
        return configuration.zones.compactMap { zone in
            guard let front = zone.front, seen.insert(front).inserted else { return nil }
            return (front, PrimaryRelay(host: zone.primaryAddress, port: zone.primaryPort))
        }
    }

    /// The scans (``ScanWorker``), every second until the group shuts down; a scan in progress
    /// is finished (its commit too).
    func scan() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let scans = state.withLockedValue { $0.scans }
            await scans.runOnce(now: Int64(Date().timeIntervalSince1970))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }

    /// Retention (`limits.retention-days`): old audit entries, finished jobs and finished outbox
    /// entries go; replay state goes once no signature it guards can still be valid.
    static func prune(store: any DelegationStore, configuration: AgentConfiguration, now: Int64, logger: Logger) {
        let window = Int64(configuration.signature.maximumValidity) + 2 * Int64(configuration.signature.allowedSkew)
        do {
            let counts = try store.prune(before: now - Int64(configuration.limits.retentionDays) * 86400, replayBefore: now - window)
            logger.debug(
                "pruned", metadata: ["delegsync.audit": "\(counts.audit)", "delegsync.jobs": "\(counts.bootstraps)", "delegsync.outbox": "\(counts.outbox)"])
        } catch {
            logger.error("cannot prune the store", metadata: ["delegsync.error": "\(error)"])
        }
    }
}
