import DNSWire
import Foundation
import Logging
import Store
import Transport

/// `delegsync child watch`: keeps every configured child's delegation in step without an
/// operator. It listens (UDP and TCP, `watch.listen`) for NOTIFY(SOA) (RFC 1996) from each
/// child's primary and syncs that child once the zone has been quiet for `watch.debounce`
/// seconds; it also syncs each child at start and whenever it went `watch.interval` seconds
/// without a sync (``SyncSchedule`` has the rules). Syncs of one child never overlap; different
/// children sync side by side.
///
/// ``NotifyResponder`` answers the NOTIFYs (RFC 1996 §4.7) and refuses everything else with an
/// Extended DNS Error. Each sync's result is logged in plain words. ``run(events:onReady:)``
/// serves until a `.stop` event (SIGTERM, SIGINT) and then lets running syncs finish; `.reload`
/// (SIGHUP) re-reads the configuration.
///
/// Limitations: a change of `watch.listen` or `store.path` takes effect at the next start, not on
/// reload. A NOTIFY still in its quiet time when the watcher stops is dropped (the next start
/// syncs every child anyway). A failed sync is tried again at the next NOTIFY or interval, not sooner (the sync
/// itself retries an unreachable parent). NOTIFY is not authenticated (see ``NotifyResponder``).
public actor ChildWatcher {
    /// What the daemon is told from outside (``signalEvents()`` makes them from signals).
    public enum Event: Sendable, Hashable {
        /// Re-read the configuration file (SIGHUP).
        case reload
        /// Stop answering, let running syncs finish, and return (SIGTERM, SIGINT).
        case stop
    }

    /// How a sync ended, in words for the log.
    public enum SyncOutcome: Sendable, Hashable {
        case done(String)
        case failed(String)
    }

    /// Syncs one child with the configuration in force; ``synchronizing(store:logger:lookup:send:)`` is the
    /// real one (``ChildSynchronizer/sync(scheme:attempts:backoff:send:)``).
    public typealias SyncAction = @Sendable (_ configuration: ChildConfiguration, _ child: ChildConfiguration.Child) async -> SyncOutcome

    let logger: Logger
    let sync: SyncAction
    let configPath: String?
    let clock = ContinuousClock()
    var configuration: ChildConfiguration
    var responder: NotifyResponder
    var schedule: SyncSchedule
    /// Set by `.stop`, a listener failing, or cancellation: no new syncs start.
    var stopping = false
    var failure: ChildAgentError?
    /// Bound ports by listen index, until every listener is bound.
    var boundPorts: [Int: Int] = [:]
    var ready = false
    /// The scheduler loop's wake-up: a waiting loop, or a wake-up that came before it waited.
    var waiter: CheckedContinuation<Void, Never>?
    var woken = false

    /// A watcher that syncs with `sync`. `configPath` is the file `.reload` re-reads.
    public init(configuration: ChildConfiguration, configPath: String? = nil, logger: Logger = Logger(label: "delegsync"), sync: @escaping SyncAction) {
        self.configuration = configuration
        self.configPath = configPath
        self.logger = logger
        self.sync = sync
        self.responder = NotifyResponder(children: configuration.children)
        self.schedule = SyncSchedule(
            children: configuration.children.map(\.name), debounce: .seconds(configuration.watch.debounce), interval: .seconds(configuration.watch.interval),
            now: ContinuousClock.now)
    }

    /// A watcher that syncs with ``ChildSynchronizer`` against `store`.
    public init(configuration: ChildConfiguration, configPath: String? = nil, store: any ChildAgentStore, logger: Logger = Logger(label: "delegsync")) {
        self.init(configuration: configuration, configPath: configPath, logger: logger, sync: Self.synchronizing(store: store, logger: logger))
    }

    /// The real sync: ``ChildSynchronizer/sync(scheme:attempts:backoff:send:)`` for the child by
    /// its `scheme`, its progress lines at debug level, its result or error in words; what the
    /// zone lacks for the NOTIFY scheme at warning level. `lookup` and `send` are for tests.
    public static func synchronizing(
        store: any ChildAgentStore, logger: Logger, lookup: any DNSLookup = DNSClientLookup(timeout: .seconds(5)), send: NotifySend? = nil
    ) -> SyncAction {
        { configuration, child in
            let synchronizer = ChildSynchronizer(
                configuration: configuration, child: child, store: store, lookup: lookup,
                progress: { line in logger.debug("\(line)", metadata: ["delegsync.child": "\(child.name)"]) })
            do {
                let report = try await synchronizer.sync(scheme: child.scheme, send: send)
                for warning in report.warnings {
                    logger.warning("\(warning)", metadata: ["delegsync.child": "\(child.name)", "delegsync.scheme": "\(child.scheme.rawValue)"])
                }
                return report.succeeded ? .done(report.summary) : .failed(report.summary)
            } catch let error as ChildAgentError where error.code == .pending {
                return .failed("pending: \(error)")
            } catch {
                return .failed("\(error)")
            }
        }
    }

    /// Says once per child using the NOTIFY scheme what the parent will act on (RFC 9859 §4).
    func noteSchemes() {
        for child in configuration.children where child.scheme.sendsNotify {
            logger.notice(
                """
                \(child.name) uses scheme \(child.scheme.rawValue): the parent takes the DS only from the zone's CDS/CDNSKEY and NS and glue only \
                from its CSYNC (flag immediate, types A NS AAAA); changes the zone does not publish that way are not announced
                """,
                metadata: ["delegsync.child": "\(child.name)"])
        }
    }

    // MARK: Running

    /// Serves every `watch.listen` address and syncs on schedule until a `.stop` event, the end of
    /// `events`, or cancellation; then waits for running syncs and returns. `onReady` gets the
    /// bound ports in listen order (port 0 in the configuration picks a free one). Throws
    /// ``ChildAgentError`` when a listener cannot be set up.
    public nonisolated func run(events: AsyncStream<Event>, onReady: @escaping @Sendable ([Int]) -> Void = { _ in }) async throws {
        let listen = await configuration.watch.listen
        let limits = DNSServerLimits(maxTCPConnections: 16, tcpIdleTimeout: 10, maxInFlight: 16, maxMessageSize: 4096)
        await withThrowingTaskGroup(of: Void.self) { group in
            for (index, address) in listen.enumerated() {
                let server = DNSServer(host: address.host, port: address.port, limits: limits, logger: logger) { bytes, context in
                    await self.receive(bytes, context: context)
                }
                group.addTask {
                    do {
                        try await server.run { port in
                            Task { await self.bound(index: index, port: port, of: listen.count, onReady: onReady) }
                        }
                        await self.listenerFailed(address, nil)
                    } catch {
                        await self.listenerFailed(address, error)
                    }
                }
            }
            group.addTask {
                for await event in events {
                    guard event == .reload else { break }
                    await self.reload()
                }
                await self.stop()
            }
            await self.noteSchemes()
            await self.loop()
            await self.stop()
            group.cancelAll()
        }
        if let failure = await failure { throw failure }
    }

    /// Stops the watcher: no new syncs; ``run(events:onReady:)`` returns once running ones end.
    public func stop() {
        guard !stopping else { return }
        stopping = true
        let running = schedule.running
        logger.notice(
            running.isEmpty ? "stopping" : "stopping once the running syncs end",
            metadata: running.isEmpty ? [:] : ["delegsync.children": "\(running.map(\.description).joined(separator: " "))"])
        wake()
    }

    /// The scheduler: hands out due syncs, sleeps until the next deadline or a wake-up.
    func loop() async {
        while !ready && !stopping && !Task.isCancelled { await pause(until: nil) }
        await withDiscardingTaskGroup { syncs in
            while !stopping && !Task.isCancelled {
                for due in schedule.takeDue(at: clock.now) {
                    guard let child = configuration.child(named: due.child) else {
                        schedule.finished(due.child, at: clock.now)
                        continue
                    }
                    let configuration = self.configuration
                    logger.info("syncing \(child.name) (\(due.reason))", metadata: ["delegsync.child": "\(child.name)"])
                    syncs.addTask { [sync] in
                        let started = ContinuousClock.now
                        let outcome = await sync(configuration, child)
                        await self.finished(child.name, reason: due.reason, outcome: outcome, took: ContinuousClock.now - started)
                    }
                }
                await pause(until: schedule.nextDeadline)
            }
        }
    }

    /// Sleeps until `deadline` (for ever when `nil`), a ``wake()`` or cancellation.
    func pause(until deadline: ContinuousClock.Instant?) async {
        if woken {
            woken = false
            return
        }
        let timer = deadline.map { deadline in
            Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                if !Task.isCancelled { self.wake() }
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiter = continuation
            }
        } onCancel: {
            Task { await self.wake() }
        }
        woken = false
        timer?.cancel()
    }

    func wake() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            woken = true
        }
    }

    func bound(index: Int, port: Int, of count: Int, onReady: @Sendable ([Int]) -> Void) {
        boundPorts[index] = port
        guard !ready, boundPorts.count == count else { return }
        ready = true
        onReady((0..<count).map { boundPorts[$0] ?? 0 })
        wake()
    }

    /// A listener ended (with `error`, or by itself) while the watcher was not stopping: the
    /// watcher stops and ``run(events:onReady:)`` throws.
    func listenerFailed(_ address: NameserverAddress, _ error: (any Error)?) {
        guard !stopping else { return }
        let failure = ChildAgentError(
            .configuration, "cannot listen for NOTIFY on \(address) (watch.listen): \(error.map { "\($0)" } ?? "the listener closed")")
        logger.error("\(failure)")
        self.failure = failure
        stop()
    }

    func finished(_ child: DomainName, reason: SyncSchedule.Reason, outcome: SyncOutcome, took: Duration) {
        schedule.finished(child, at: clock.now)
        let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
        let metadata: Logger.Metadata = [
            "delegsync.child": "\(child)", "delegsync.reason": "\(reason)", "delegsync.seconds": "\((seconds * 10).rounded() / 10)",
        ]
        switch outcome {
        case .done(let text):
            logger.notice("sync of \(child) (\(reason)) done: \(text)", metadata: metadata)
        case .failed(let text):
            logger.error("sync of \(child) (\(reason)) failed: \(text)", metadata: metadata)
        }
        wake()
    }

    // MARK: NOTIFY

    /// Answers one request; an accepted NOTIFY (re)starts its child's quiet time.
    func receive(_ bytes: [UInt8], context: DNSRequestContext) -> [UInt8]? {
        guard let decision = responder.respond(to: bytes, from: context.sourceAddress) else { return nil }
        var metadata: Logger.Metadata = ["delegsync.source": "\(context.source)", "delegsync.transport": "\(context.transport)"]
        if let zone = decision.zone { metadata["delegsync.child"] = "\(zone)" }
        if let child = decision.accepted {
            if stopping {
                logger.info("NOTIFY for \(child) from \(context.source) answered; stopping, so no sync follows", metadata: metadata)
            } else {
                schedule.notified(child, at: clock.now)
                let wait = configuration.watch.debounce
                logger.info(
                    "NOTIFY for \(child) from \(context.source) accepted: syncing \(wait == 0 ? "now" : "in \(wait) s unless another NOTIFY comes")",
                    metadata: metadata)
                wake()
            }
        } else if decision.rcode == .refused || decision.rcode == .notAuth {
            // RFC 1996 §3.10: a NOTIFY from a host that is not a known master is logged.
            logger.warning("answered \(decision.rcode) to a NOTIFY from \(context.source): \(decision.reason)", metadata: metadata)
        } else {
            logger.info("answered \(decision.rcode) to a request from \(context.source): \(decision.reason)", metadata: metadata)
        }
        return decision.reply
    }

    // MARK: Configuration

    /// Re-reads the configuration file; on an error the old configuration stays in force.
    public func reload() {
        guard let configPath else {
            logger.notice("no configuration file to re-read")
            return
        }
        do {
            apply(try ChildConfiguration.load(path: configPath))
        } catch {
            logger.error("configuration not reloaded, the old one stays in force: \(error)", metadata: ["delegsync.config": "\(configPath)"])
        }
    }

    /// Puts `new` in force: the children, their primaries, debounce and interval. Listen
    /// addresses and the store stay as they were until a restart.
    public func apply(_ new: ChildConfiguration) {
        if new.watch.listen != configuration.watch.listen {
            logger.warning("watch.listen changed: the new addresses take effect at the next start")
        }
        if new.storePath != configuration.storePath {
            logger.warning("store.path changed: the new store takes effect at the next start")
        }
        configuration = new
        responder = NotifyResponder(children: new.children)
        noteSchemes()
        schedule.reconfigure(
            children: new.children.map(\.name), debounce: .seconds(new.watch.debounce), interval: .seconds(new.watch.interval), now: clock.now)
        logger.notice(
            "configuration reloaded: watching \(new.children.map(\.name.description).joined(separator: ", "))",
            metadata: configPath.map { ["delegsync.config": "\($0)"] } ?? [:])
        wake()
    }
}
