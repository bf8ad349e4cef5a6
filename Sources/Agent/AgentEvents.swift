import Backends
import DNSWire
import DelegationCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Store

/// The operator events of the `events` section (docs/parent.md, "Events"). The workers and the
/// receiver hand events in with ``emit(_:)``, which never waits: a bounded queue takes them, and
/// when it is full the oldest is dropped (counted in `delegsync_events_dropped_total`, logged).
/// ``deliver()`` hands them on one at a time — the command with the JSON on stdin, the POST
/// to the webhook — each within `events.timeout`; a failed delivery is logged and counted,
/// never retried.
///
/// The two episode events come from ``EventMonitor``: the backend outcomes are reported here
/// (``backendFailed(zone:error:now:)``, ``backendWorked(zone:now:)``), and ``review(now:)``
/// compares the open episodes with the outbox. Open episodes are rows in the store, so a
/// restart neither repeats a report nor loses one; they are kept only while `events` is
/// configured.
///
/// ## Limitations
/// - At most once: events still queued when the agent stops are lost, and a failed delivery is
///   not repeated.
/// - `delegsync keys approve|revoke` run in their own process and send no events.
public final class AgentEvents: Sendable {
    let store: any DelegationStore
    let logger: Logger
    let metrics: AgentMetrics
    /// Sent as `agent`: this host's name.
    let agent: String
    let queue: AsyncStream<OperatorEvent>
    let continuation: AsyncStream<OperatorEvent>.Continuation

    struct Settings {
        var events: AgentConfiguration.Events?
        var zones: Set<DomainName> = []
    }

    let settings = NIOLockedValueBox(Settings())
    /// The zones with an open backend episode, as far as known (nil: read the store); the lock
    /// also serializes the episode bookkeeping.
    let openBackends = NIOLockedValueBox<Set<DomainName>?>(nil)

    /// `capacity` is the queue's bound (`events.queue-size`, read at start).
    public init(store: any DelegationStore, logger: Logger, metrics: AgentMetrics, capacity: Int = AgentConfiguration.Events().queueSize, agent: String? = nil)
    {
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.agent = agent ?? Self.hostName()
        (queue, continuation) = AsyncStream.makeStream(of: OperatorEvent.self, bufferingPolicy: .bufferingNewest(max(1, capacity)))
    }

    /// Takes the configuration's `events` section and zones (at start and on SIGHUP). Without
    /// an `events` section nothing is sent and the open episodes are forgotten.
    public func configure(_ configuration: AgentConfiguration) {
        settings.withLockedValue { $0 = Settings(events: configuration.events, zones: Set(configuration.zones.map(\.name))) }
        guard configuration.events == nil else { return }
        openBackends.withLockedValue { open in
            do {
                for episode in try store.eventEpisodes() {
                    try store.removeEventEpisode(episode.kind, zone: episode.zone, child: episode.child)
                }
                open = []
            } catch {
                logger.error("cannot forget the event episodes", metadata: ["delegsync.error": "\(error)"])
            }
        }
    }

    var current: AgentConfiguration.Events? { settings.withLockedValue { $0.events } }

    /// Queues `event` unless its type is not sent; never waits.
    public func emit(_ event: OperatorEvent) {
        guard let events = current, events.types.contains(event.kind) else { return }
        logger.info("event", metadata: Self.metadata(event))
        if case .dropped(let oldest) = continuation.yield(event) {
            metrics.eventDropped()
            logger.warning("event queue full: the oldest event is dropped", metadata: Self.metadata(oldest))
        }
    }

    static func metadata(_ event: OperatorEvent) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["delegsync.event": "\(event.kind.rawValue)", "delegsync.zone": "\(event.zone)"]
        if let child = event.child { metadata["delegsync.child"] = "\(child)" }
        return metadata
    }

    /// A change for `zone` did not reach its primary (not answering, backend error, change not
    /// served afterwards): opens the zone's backend episode unless one is open.
    public func backendFailed(zone: DomainName, error: String, now: Int64) {
        guard let events = current else { return }
        openBackends.withLockedValue { open in
            do {
                let known = try open ?? Self.backendZones(store.eventEpisodes())
                open = known
                guard !known.contains(zone) else { return }
                let monitor = EventMonitor(backendFailingAfter: events.backendFailingAfter, outOfStepAfter: events.outOfStepAfter)
                if let episode = monitor.backendFailed(zone: zone, error: error, now: now, open: nil) {
                    try store.putEventEpisode(episode)
                    open?.insert(zone)
                }
            } catch {
                logger.error("cannot record the backend failure for events", metadata: ["delegsync.error": "\(error)"])
            }
        }
    }

    /// A change for `zone` reached its primary: closes the zone's backend episode, with
    /// `backend-recovered` when it had been reported.
    public func backendWorked(zone: DomainName, now: Int64) {
        guard let events = current else { return }
        openBackends.withLockedValue { open in
            if let known = open, !known.contains(zone) { return }
            do {
                if let episode = try store.removeEventEpisode(.backendFailing, zone: zone, child: nil) {
                    let monitor = EventMonitor(backendFailingAfter: events.backendFailingAfter, outOfStepAfter: events.outOfStepAfter)
                    if let event = monitor.backendWorked(episode, now: now) { emit(event) }
                }
                open?.remove(zone)
            } catch {
                logger.error("cannot record the backend recovery for events", metadata: ["delegsync.error": "\(error)"])
            }
        }
    }

    static func backendZones(_ episodes: [EventMonitor.Episode]) -> Set<DomainName> {
        Set(episodes.filter { $0.kind == .backendFailing }.map(\.zone))
    }

    /// Reports the episodes due at `now` (``EventMonitor``) and forgets those that ended; an
    /// event goes out only once its episode is stored as reported.
    public func review(now: Int64) {
        let (events, zones) = settings.withLockedValue { ($0.events, $0.zones) }
        guard let events else { return }
        let monitor = EventMonitor(backendFailingAfter: events.backendFailingAfter, outOfStepAfter: events.outOfStepAfter)
        openBackends.withLockedValue { open in
            do {
                let episodes = try store.eventEpisodes()
                open = Self.backendZones(episodes)
                let review = monitor.review(now: now, zones: zones, episodes: episodes, backlog: try store.outboxBacklog())
                for episode in review.ended {
                    try store.removeEventEpisode(episode.kind, zone: episode.zone, child: episode.child)
                    if episode.kind == .backendFailing { open?.remove(episode.zone) }
                }
                for report in review.reported {
                    try store.putEventEpisode(report.episode)
                    emit(report.event)
                }
            } catch {
                logger.error("cannot review the event episodes", metadata: ["delegsync.error": "\(error)"])
            }
        }
    }

    /// Hands the queued events on, one at a time, until the task is cancelled.
    public func deliver() async {
        for await event in queue {
            guard let events = current else { continue }
            let document = event.json(agent: agent)
            if let command = events.command {
                await run(command, document, timeout: events.timeout, event: event)
            }
            if let url = events.webhook {
                await post(url, document, timeout: events.timeout, event: event)
            }
        }
    }

    func run(_ command: [String], _ document: String, timeout: Int, event: OperatorEvent) async {
        var failure: String? = nil
        do {
            let result = try await ExternalCommand(command, timeLimit: Double(timeout)).run(input: document + "\n")
            if result.timedOut {
                failure = "ran longer than \(timeout) s and was stopped"
            } else if result.status != 0 {
                failure = "exit status \(result.status)" + (result.output.isEmpty ? "" : ": \(result.output)")
            }
        } catch {
            failure = "\(error)"
        }
        delivered(to: "command", failure: failure, event: event)
    }

    func post(_ url: WebhookURL, _ document: String, timeout: Int, event: OperatorEvent) async {
        var failure: String? = nil
        do {
            let status = try await EventWebhook(url: url, timeout: .seconds(Int64(timeout))).post(document)
            if !(200..<300).contains(status) { failure = "\(url) answered HTTP status \(status)" }
        } catch {
            failure = "\(error)"
        }
        delivered(to: "webhook", failure: failure, event: event)
    }

    func delivered(to target: String, failure: String?, event: OperatorEvent) {
        metrics.eventDelivery(target: target, ok: failure == nil)
        guard let failure else { return }
        var metadata = Self.metadata(event)
        metadata["delegsync.error"] = "\(failure)"
        logger.error("the event \(target) failed; the event is not sent again", metadata: metadata)
    }

    /// gethostname(2); `localhost` when it fails.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
