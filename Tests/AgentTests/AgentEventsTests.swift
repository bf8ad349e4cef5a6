import DNSWire
import DaemonSupport
import DelegationCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import SIG0
import Store
import Transport
import XCTest

@testable import Agent

#if canImport(Glibc)
    import Glibc
#endif

extension AgentEvents {
    /// Everything queued so far, in order. Ends the queue: for the end of a test.
    func drained() async -> [OperatorEvent] {
        continuation.finish()
        var all: [OperatorEvent] = []
        for await event in queue { all.append(event) }
        return all
    }
}

/// The `events` section, the bounded queue, the events the receiver and the workers hand in
/// (with a fake parent and fixed time), the episodes across a restart, and delivery to a real
/// command and a real HTTP listener on 127.0.0.1.
final class AgentEventsTests: XCTestCase {
    let now: Int64 = 1_800_000_000
    let zoneName = try! DomainName("example.")
    let child = try! DomainName("example.example.")
    let tcp = DNSRequestContext(sourceAddress: "127.0.0.1", sourcePort: 40000, transport: .tcp)

    func configuration(events: String, limits: String = "") throws -> AgentConfiguration {
        try AgentConfiguration.parse(
            """
            version: 1
            \(limits.isEmpty ? "" : "limits: \(limits)")
            events: \(events)
            zones:
              - name: example.
                primary: { address: 127.0.0.1, port: 53 }
                backend: { type: script, output: "-" }
                content-checks: { ns-authoritative: false, ds-matches-dnskey: false, ds-removal-needs-cds-delete: false }
            """)
    }

    // MARK: Configuration

    func testDefaults() throws {
        let events = try XCTUnwrap(configuration(events: "{ command: [/usr/local/bin/notify, --json] }").events)
        XCTAssertEqual(events.command, ["/usr/local/bin/notify", "--json"])
        XCTAssertNil(events.webhook)
        XCTAssertEqual(events.backendFailingAfter, 900)
        XCTAssertEqual(events.outOfStepAfter, 12 * 3600)
        XCTAssertEqual(events.types, Set(OperatorEvent.Kind.allCases))
        XCTAssertEqual(events.timeout, 10)
        XCTAssertEqual(events.queueSize, 256)
        XCTAssertNil(try AgentConfiguration.parse("version: 1\nzones: [{ name: p., primary: { address: 127.0.0.1 }, backend: { type: rfc2136 } }]").events)
    }

    func testEveryKey() throws {
        let events = try XCTUnwrap(
            configuration(
                events:
                    "{ webhook: \"http://[::1]:8080/hooks/delegsync?from=agent\", types: [out-of-step, backend-failing], backend-failing-after: 0, out-of-step-after: 2, timeout: 3, queue-size: 5 }"
            ).events)
        XCTAssertNil(events.command)
        XCTAssertEqual(events.webhook?.host, "::1")
        XCTAssertEqual(events.webhook?.port, 8080)
        XCTAssertEqual(events.webhook?.path, "/hooks/delegsync?from=agent")
        XCTAssertEqual(events.webhook?.description, "http://[::1]:8080/hooks/delegsync?from=agent")
        XCTAssertEqual(events.types, [.outOfStep, .backendFailing])
        XCTAssertEqual(events.backendFailingAfter, 0)
        XCTAssertEqual(events.outOfStepAfter, 7200)
        XCTAssertEqual(events.timeout, 3)
        XCTAssertEqual(events.queueSize, 5)
    }

    /// Each mistake names the key and what to write instead; nothing can point the events
    /// off this host.
    func testRefusals() {
        let cases: [(String, String, String)] = [
            ("{}", "events", "needs command or webhook"),
            ("{ command: [] }", "events.command", "empty"),
            ("{ command: /bin/logger }", "events.command", "must be a list of strings"),
            ("{ webhook: http://192.0.2.1/hook }", "events.webhook", "192.0.2.1 is not a loopback address"),
            ("{ webhook: http://localhost:8080/ }", "events.webhook", "names are not resolved"),
            ("{ webhook: \"http://[2001:db8::1]/\" }", "events.webhook", "is not the loopback address"),
            ("{ webhook: https://127.0.0.1/ }", "events.webhook", "https is not offered"),
            ("{ webhook: ftp://127.0.0.1/ }", "events.webhook", "only http://"),
            ("{ webhook: 127.0.0.1:8080 }", "events.webhook", "not a URL"),
            ("{ webhook: \"http://user@127.0.0.1/\" }", "events.webhook", "user information"),
            ("{ webhook: \"http://127.0.0.1:99999/\" }", "events.webhook", "not a number from 1 to 65535"),
            ("{ webhook: \"http://127.0.0.1:+80/\" }", "events.webhook", "not a number from 1 to 65535"),
            ("{ webhook: \"http://127.0.0.1/a b\" }", "events.webhook", "printable ASCII"),
            ("{ webhook: \"http://127.0.0.1/#top\" }", "events.webhook", "fragment"),
            ("{ command: [x], types: [key-trusted, ds-missing] }", "events.types[1]", "\"ds-missing\" is not an event"),
            ("{ command: [x], types: [key-trusted, key-trusted] }", "events.types", "twice"),
            ("{ command: [x], types: [] }", "events.types", "empty"),
            ("{ command: [x], backend-failing-after: -1 }", "events.backend-failing-after", "outside"),
            ("{ command: [x], out-of-step-after: 0 }", "events.out-of-step-after", "outside"),
            ("{ command: [x], out-of-step-after: 24 }", "events.out-of-step-after", "not shorter than limits.change-deadline"),
            ("{ command: [x], timeout: 0 }", "events.timeout", "outside"),
            ("{ command: [x], queue-size: 0 }", "events.queue-size", "outside"),
            ("{ command: [x], retries: 3 }", "events.retries", "unknown key"),
        ]
        for (section, key, problem) in cases {
            XCTAssertThrowsError(try configuration(events: section), section) { error in
                guard let error = error as? ConfigurationError else { return XCTFail("\(section): \(error)") }
                XCTAssertEqual(error.key, key, section)
                XCTAssertTrue(error.problem.contains(problem), "\(section): \(error.problem)")
            }
        }
        // Without out-of-step among the types, the deadline does not bound its threshold.
        XCTAssertNoThrow(try configuration(events: "{ command: [x], types: [key-trusted], out-of-step-after: 24 }"))
        XCTAssertNoThrow(try configuration(events: "{ command: [x], out-of-step-after: 24 }", limits: "{ change-deadline: 172800 }"))
    }

    func testWebhookAddresses() throws {
        for (text, host, port, path) in [
            ("http://127.0.0.1/", "127.0.0.1", 80, "/"), ("HTTP://127.0.0.1:8080", "127.0.0.1", 8080, "/"),
            ("http://127.1.2.3:9/x?y=1", "127.1.2.3", 9, "/x?y=1"), ("http://[::1]/", "::1", 80, "/"),
            ("http://[0:0:0:0:0:0:0:1]:81/p", "0:0:0:0:0:0:0:1", 81, "/p"), ("http://127.0.0.1?q", "127.0.0.1", 80, "/?q"),
        ] {
            let url = try WebhookURL(text)
            XCTAssertEqual([url.host, String(url.port), url.path], [host, String(port), path], text)
        }
        for text in ["http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://[::]/", "http://10.0.0.1/", "http:///x", "http://[::1/"] {
            XCTAssertThrowsError(try WebhookURL(text), text)
        }
    }

    // MARK: The queue

    func makeEvents(_ configuration: AgentConfiguration, store: any DelegationStore, metrics: AgentMetrics = AgentMetrics(), capacity: Int = 256)
        -> AgentEvents
    {
        let events = AgentEvents(store: store, logger: Logger(label: "test"), metrics: metrics, capacity: capacity, agent: "test-agent")
        events.configure(configuration)
        return events
    }

    func event(_ kind: OperatorEvent.Kind, _ detail: String) -> OperatorEvent {
        OperatorEvent(kind: kind, time: now, zone: zoneName, child: child, detail: detail)
    }

    func testAFullQueueDropsTheOldestAndCountsIt() async throws {
        let metrics = AgentMetrics()
        let store = try SQLiteStore.inMemory()
        let events = makeEvents(try configuration(events: "{ command: [/bin/true] }"), store: store, metrics: metrics, capacity: 2)
        for detail in ["first", "second", "third"] { events.emit(event(.changeCommitted, detail)) }
        let queued = await events.drained()
        XCTAssertEqual(queued.map(\.detail), ["second", "third"])
        XCTAssertTrue(metrics.exposition(store: store).contains("\ndelegsync_events_dropped_total 1\n"), metrics.exposition(store: store))
    }

    func testOnlyTheListedTypesAreQueued() async throws {
        let events = makeEvents(try configuration(events: "{ command: [/bin/true], types: [key-trusted] }"), store: try SQLiteStore.inMemory())
        events.emit(event(.changeCommitted, "not listed"))
        events.emit(event(.keyTrusted, "listed"))
        let queued = await events.drained()
        XCTAssertEqual(queued.map(\.detail), ["listed"])
    }

    /// Without an `events` section nothing is queued or recorded, and the episodes a former
    /// configuration left are forgotten (turning events on again starts afresh).
    func testWithoutEventsNothingIsQueuedAndEpisodesAreForgotten() async throws {
        let store = try SQLiteStore.inMemory()
        try store.putEventEpisode(EventMonitor.Episode(kind: .backendFailing, zone: zoneName, since: now - 86400, reportedAt: now - 3600))
        var off = try configuration(events: "{ command: [/bin/true] }")
        off.events = nil
        let events = makeEvents(off, store: store)
        XCTAssertEqual(try store.eventEpisodes(), [])
        events.emit(event(.keyTrusted, "x"))
        events.backendFailed(zone: zoneName, error: "connection refused", now: now)
        events.review(now: now + 86400)
        XCTAssertEqual(try store.eventEpisodes(), [])
        let queued = await events.drained()
        XCTAssertEqual(queued, [])
    }

    // MARK: What the receiver and the outbox hand in

    struct Fixture {
        let store: SQLiteStore
        let parent: FakeParent
        let signer: SIG0Signer
        let identity: KeyIdentity
        let configuration: AgentConfiguration
    }

    func fixture(events: String, limits: String = "") throws -> Fixture {
        let configuration = try configuration(events: events, limits: limits)
        let parent = FakeParent([
            try DelegationSnapshot(
                child: child,
                records: [try Record("example.example. 3600 IN NS ns1.example.example."), try Record("ns1.example.example. 3600 IN A 192.0.2.1")])
        ])
        let store = try SQLiteStore.inMemory()
        let key = try BINDKeyFile.generate(owner: child)
        try store.putKey(
            StoredKey(
                zone: zoneName, child: child, keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .trusted, addedAt: now, origin: "import"))
        return Fixture(
            store: store, parent: parent, signer: try SIG0Signer(keyFile: key), identity: KeyIdentity(zone: zoneName, child: child, rdata: key.keyData.rdata),
            configuration: configuration)
    }

    /// Content checks are off in ``configuration(events:limits:)``: the probe is never asked.
    let probe = ChildContentProbe(exchange: { _, _, _, _ in throw ProbeNotExpected() })
    struct ProbeNotExpected: Error {}

    func receiver(_ fixture: Fixture, events: AgentEvents, at time: Int64) -> UpdateReceiver {
        UpdateReceiver(
            configuration: fixture.configuration, store: fixture.store, backends: [zoneName: fixture.parent], reader: fixture.parent, contentProbe: probe,
            clock: { time }, logger: Logger(label: "test"), events: events)
    }

    func worker(_ fixture: Fixture, events: AgentEvents) -> OutboxWorker {
        OutboxWorker(
            configuration: fixture.configuration, store: fixture.store, backends: [zoneName: fixture.parent], reader: fixture.parent, contentProbe: probe,
            logger: Logger(label: "test"), events: events)
    }

    func send(_ receiver: UpdateReceiver, _ fixture: Fixture, _ record: String, at time: Int64) async throws -> RCode {
        let unsigned = try Update(zone: zoneName, operations: [.add(try Record(record))]).message(id: 1, edns: EDNS()).wireFormat()
        let reply = await receiver.handle(try fixture.signer.sign(unsigned, now: UInt32(time)), context: tcp)
        return try Message(wire: XCTUnwrap(reply)).rcode
    }

    /// A change committed at once; the primary down (SERVFAIL, the change waits): the backend
    /// episode opens and, past the threshold (0 here), is reported once; the primary back: the
    /// waiting change is committed and the recovery reported.
    func testCommitsAndABackendEpisode() async throws {
        let fixture = try fixture(events: "{ command: [/bin/true], backend-failing-after: 0 }")
        let events = makeEvents(fixture.configuration, store: fixture.store)
        let rcode = try await send(receiver(fixture, events: events, at: now), fixture, "example.example. 60 IN NS ns.provider.net.", at: now)
        XCTAssertEqual(rcode, .noError)

        fixture.parent.reachable = false
        let later = now + 100
        let failed = try await send(receiver(fixture, events: events, at: later), fixture, "example.example. 60 IN NS ns.provider2.net.", at: later)
        XCTAssertEqual(failed, .servFail)
        XCTAssertEqual(try fixture.store.eventEpisodes().map(\.since), [later])
        let worker = worker(fixture, events: events)
        await worker.runOnce(now: later + 10)
        XCTAssertEqual(try fixture.store.eventEpisodes().map(\.since), [later], "a further failure keeps the episode's start")
        events.review(now: later + 10)
        events.review(now: later + 20)
        XCTAssertEqual(try fixture.store.eventEpisodes().map(\.reportedAt), [later + 10])

        fixture.parent.reachable = true
        let applied = await worker.runOnce(now: later + 600)
        XCTAssertEqual(applied, 1)
        XCTAssertEqual(try fixture.store.eventEpisodes(), [])

        let queued = await events.drained()
        XCTAssertEqual(queued.map(\.kind), [.changeCommitted, .backendFailing, .backendRecovered, .changeCommitted])
        XCTAssertEqual(queued.map(\.time), [now, later + 10, later + 600, later + 600])
        XCTAssertEqual(queued[0].key, fixture.identity)
        XCTAssertEqual(queued[0].child, child)
        XCTAssertTrue(queued[0].detail.hasPrefix("committed at the parent's primary: add example.example. 3600 IN NS ns.provider.net."), queued[0].detail)
        XCTAssertTrue(queued[1].detail.contains("first error: cannot read the delegation from the primary: primary unreachable"), queued[1].detail)
        XCTAssertTrue(queued[3].detail.contains("after 600 s in the outbox"), queued[3].detail)
    }

    /// The agent restarts (a new AgentEvents over the same store) during a reported episode:
    /// nothing is sent again, and the recovery still is.
    func testARestartNeitherRepeatsNorLosesAReport() async throws {
        let fixture = try fixture(events: "{ command: [/bin/true], backend-failing-after: 0 }")
        let before = makeEvents(fixture.configuration, store: fixture.store)
        before.backendFailed(zone: zoneName, error: "connection refused", now: now)
        before.review(now: now + 1)
        let first = await before.drained()
        XCTAssertEqual(first.map(\.kind), [.backendFailing])

        let after = makeEvents(fixture.configuration, store: fixture.store)
        after.review(now: now + 3600)
        after.backendFailed(zone: zoneName, error: "timeout", now: now + 3601)
        XCTAssertEqual(try fixture.store.eventEpisodes().map(\.since), [now])
        after.backendWorked(zone: zoneName, now: now + 7200)
        after.backendWorked(zone: zoneName, now: now + 7201)
        let second = await after.drained()
        XCTAssertEqual(second.map(\.kind), [.backendRecovered])
        XCTAssertEqual(second.first?.time, now + 7200)
    }

    /// A change waiting longer than out-of-step-after is reported once, with the key that
    /// signed it; past its deadline it is given up, and the episode ends.
    func testOutOfStepThenGivenUp() async throws {
        let fixture = try fixture(events: "{ command: [/bin/true], out-of-step-after: 1 }", limits: "{ change-deadline: 7200 }")
        let events = makeEvents(fixture.configuration, store: fixture.store)
        try fixture.store.enqueue(
            OutboxEntry(
                zone: zoneName, child: child, operations: [.add(try Record("example.example. 3600 IN NS ns.provider.net."))], createdAt: now,
                nextAttemptAt: now + 86400, signer: fixture.identity, deadline: now + 7200))
        events.review(now: now + 3599)
        events.review(now: now + 3600)
        events.review(now: now + 3700)
        XCTAssertEqual(try fixture.store.eventEpisodes().map(\.kind), [.outOfStep])
        // Due for its next attempt only now, past its deadline.
        try fixture.store.markAttemptFailed(id: 1, error: "connection refused", nextAttemptAt: now + 7201)
        await worker(fixture, events: events).runOnce(now: now + 7201)
        events.review(now: now + 7202)
        XCTAssertEqual(try fixture.store.eventEpisodes(), [])

        let queued = await events.drained()
        XCTAssertEqual(queued.map(\.kind), [.outOfStep, .changeGivenUp])
        XCTAssertEqual(queued.map(\.key), [fixture.identity, fixture.identity])
        XCTAssertEqual(queued[0].time, now + 3600)
        XCTAssertTrue(queued[1].detail.hasPrefix("given up: not applied by its deadline"), queued[1].detail)
    }

    /// A rollover (the new KEY added, signed by the trusted key) makes the new key trusted:
    /// `key-trusted` with its identity, after the change's own `change-committed`.
    func testRolloverTrustsTheNewKey() async throws {
        let fixture = try fixture(events: "{ command: [/bin/true] }")
        let events = makeEvents(fixture.configuration, store: fixture.store)
        let newKey = try BINDKeyFile.generate(owner: child)
        let unsigned = try Update(zone: zoneName, operations: [.add(Record(name: child, type: .key, ttl: 3600, rdata: newKey.keyData.rdata))])
            .message(id: 2, edns: EDNS()).wireFormat()
        let reply = await receiver(fixture, events: events, at: now).handle(try fixture.signer.sign(unsigned, now: UInt32(now)), context: tcp)
        XCTAssertEqual(try Message(wire: XCTUnwrap(reply)).rcode, .noError)
        let queued = await events.drained()
        XCTAssertEqual(queued.map(\.kind), [.changeCommitted, .keyTrusted])
        XCTAssertEqual(queued.map(\.key), [fixture.identity, KeyIdentity(zone: zoneName, child: child, rdata: newKey.keyData.rdata)])
    }

    // MARK: Delivery

    func testDeliveryToTheCommandAndTheWebhook() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try HTTPListener(status: 204)
        let file = "\(directory)/events.jsonl"
        let metrics = AgentMetrics()
        let store = try SQLiteStore.inMemory()
        let events = makeEvents(
            try configuration(events: "{ command: [/bin/sh, -c, \"cat >> \(file)\"], webhook: \"http://127.0.0.1:\(server.port)/hook\" }"), store: store,
            metrics: metrics)
        let sent = [event(.keyTrusted, "one"), event(.changeCommitted, "two \"quoted\"")]
        for event in sent { events.emit(event) }
        let delivery = Task { await events.deliver() }
        defer { delivery.cancel() }
        let lines = try await waitFor { () -> [String]? in
            let lines = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            return lines.count == 2 && server.requests.count == 2 ? lines : nil
        }
        XCTAssertEqual(lines, sent.map { $0.json(agent: "test-agent") })
        for (request, event) in zip(server.requests, sent) {
            XCTAssertTrue(request.hasPrefix("POST /hook HTTP/1.1\r\n"), request)
            XCTAssertTrue(request.lowercased().contains("\r\ncontent-type: application/json\r\n"), request)
            XCTAssertTrue(request.hasSuffix("\r\n\r\n" + event.json(agent: "test-agent")), request)
        }
        let exposition = metrics.exposition(store: store)
        for line in [
            "delegsync_event_deliveries_total{target=\"command\",result=\"ok\"} 2", "delegsync_event_deliveries_total{target=\"webhook\",result=\"ok\"} 2",
        ] {
            XCTAssertTrue(exposition.contains(line), exposition)
        }
    }

    /// A command that fails, a webhook answering 500 and one nobody listens on: each failure is
    /// counted once and the event is not sent again.
    func testFailedDeliveriesAreCountedNotRetried() async throws {
        let server = try HTTPListener(status: 500)
        let closed = try HTTPListener(status: 200)
        let closedPort = closed.port
        closed.close()
        let metrics = AgentMetrics()
        let store = try SQLiteStore.inMemory()
        for (section, target, failures) in [
            ("{ command: [/bin/sh, -c, \"exit 3\"] }", "command", 1), ("{ webhook: \"http://127.0.0.1:\(server.port)/\" }", "webhook", 1),
            ("{ webhook: \"http://127.0.0.1:\(closedPort)/\", timeout: 2 }", "webhook", 2),
        ] {
            let events = makeEvents(try configuration(events: section), store: store, metrics: metrics)
            events.emit(event(.keyTrusted, target))
            let delivery = Task { await events.deliver() }
            defer { delivery.cancel() }
            _ = try await waitFor { metrics.exposition(store: store).contains("{target=\"\(target)\",result=\"failed\"} \(failures)\n") ? true : nil }
        }
        try await Task.sleep(for: .milliseconds(500))
        let exposition = metrics.exposition(store: store)
        XCTAssertTrue(exposition.contains("delegsync_event_deliveries_total{target=\"command\",result=\"failed\"} 1"), exposition)
        XCTAssertTrue(exposition.contains("delegsync_event_deliveries_total{target=\"webhook\",result=\"failed\"} 2"), exposition)
        XCTAssertEqual(server.requests.count, 1, "not retried")
    }

    // MARK: Helpers

    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Polls `check` every 50 ms for at most 10 s.
    func waitFor<T>(_ check: () -> T?) async throws -> T {
        for _ in 0..<200 {
            if let value = check() { return value }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TimedOut()
    }
    struct TimedOut: Error {}
}

/// An HTTP/1.1 listener on 127.0.0.1 that answers every request with `status` and keeps what it
/// received (head and body) until closed.
final class HTTPListener: @unchecked Sendable {
    let socket: Int32
    let port: Int
    let received = NIOLockedValueBox<[String]>([])
    var requests: [String] { received.withLockedValue { $0 } }

    init(status: Int) throws {
        let listener = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        guard bound == 0, listen(listener, 8) == 0 else { throw AgentEventsTests.TimedOut() }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        socket = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let socket = listener
        let received = self.received
        Thread.detachNewThread {
            while true {
                let connection = accept(socket, nil, nil)
                guard connection >= 0 else { return }
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var data: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while !Self.complete(data) {
                    let count = recv(connection, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    data += buffer[0..<count]
                }
                received.withLockedValue { $0.append(String(decoding: data, as: UTF8.self)) }
                let reply = Array("HTTP/1.1 \(status) Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
                Glibc.close(connection)
            }
        }
    }

    /// Whether `data` holds the head and as much body as its Content-Length says.
    static func complete(_ data: [UInt8]) -> Bool {
        let text = String(decoding: data, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<end.lowerBound].lowercased()
        let length =
            head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }.flatMap {
                Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
            } ?? 0
        return text[end.upperBound...].utf8.count >= length
    }

    let closed = NIOLockedValueBox(false)

    func close() {
        guard
            !closed.withLockedValue({ was in
                defer { was = true }; return was
            })
        else { return }
        shutdown(socket, Int32(SHUT_RDWR))
        Glibc.close(socket)
    }

    deinit { close() }
}

extension BootstrapWorkerTests {
    /// The rounds pass: `key-trusted` with the job's key; a server serving another key:
    /// `bootstrap-failed` with the reason; the approval command rejecting: `bootstrap-failed`.
    func testBootstrapEvents() async throws {
        let sections = try AgentConfiguration.parse(
            "version: 1\nevents: { command: [/bin/true] }\nzones: [{ name: parent., primary: { address: 127.0.0.1 }, backend: { type: rfc2136 } }]")
        for spoofed in [nil, "::1"] {
            let events = AgentEvents(store: try SQLiteStore.inMemory(), logger: Logger(label: "test"), metrics: AgentMetrics())
            events.configure(sections)
            let (worker, _, _, new) = try setUp(spoofAt: spoofed, events: events)
            await worker.runOnce(now: now)
            await worker.runOnce(now: now + 60)
            let queued = await events.drained()
            XCTAssertEqual(queued.map(\.kind), [spoofed == nil ? .keyTrusted : .bootstrapFailed])
            XCTAssertEqual(queued.first?.key, KeyIdentity(zone: zoneName, child: child, rdata: new.keyData.rdata))
            XCTAssertEqual(queued.first?.time, spoofed == nil ? now + 60 : now)
            if spoofed != nil {
                XCTAssertTrue(queued.first?.detail.contains("ns2.child.parent. at ::1 served key tag") == true, queued.first?.detail ?? "")
            }
        }

        let events = AgentEvents(store: try SQLiteStore.inMemory(), logger: Logger(label: "test"), metrics: AgentMetrics())
        events.configure(sections)
        let (worker, store, _, _) = try setUp(spoofAt: nil, events: events)
        var job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: true).first)
        job.policy = BootstrapPolicy(rounds: 1, confirmation: .command, approvalCommand: ["/bin/false"])
        try store.putBootstrap(job, now: now)
        await worker.runOnce(now: now)
        let queued = await events.drained()
        XCTAssertEqual(queued.map(\.kind), [.bootstrapFailed])
        XCTAssertTrue(queued.first?.detail.contains("rejected by the approval command: exit status 1") == true, queued.first?.detail ?? "")
    }
}

extension AgentEventsTests {
    /// contrib/events/delegsync-event, fed documents as the agent writes them, with logger and
    /// sendmail replaced by scripts that record what they get: a syslog line per event at the
    /// right priority, and mail for the events that need attention.
    func testExampleScriptLogsAndMails() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("contrib/events/delegsync-event").path
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (tool, body) in [("logger", "printf '%s|' \"$@\" >> \(directory)/logged; echo >> \(directory)/logged"), ("sendmail", "cat >> \(directory)/mailed")]
        {
            try "#!/bin/sh\n\(body)\n".write(toFile: "\(directory)/\(tool)", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(directory)/\(tool)")
        }
        let key = KeyIdentity(zone: zoneName, child: child, rdata: [2, 0, 3, 15, 1, 2, 3])
        let trusted = OperatorEvent(kind: .keyTrusted, time: now, zone: zoneName, child: child, key: key, detail: "key is \"trusted\"\nnow")
        let failing = OperatorEvent(kind: .backendFailing, time: now, zone: zoneName, detail: "connection refused")
        for event in [trusted, failing] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = [script, "-m", "hostmaster@example.net"]
            process.environment = ["PATH": "\(directory):/usr/bin:/bin"]
            let input = Pipe()
            process.standardInput = input
            try process.run()
            input.fileHandleForWriting.write(Data((event.json(agent: "ns0") + "\n").utf8))
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, event.kind.rawValue)
        }
        XCTAssertEqual(
            try String(contentsOfFile: "\(directory)/logged", encoding: .utf8),
            """
            -t|delegsync|-p|daemon.notice|--|key-trusted example. example.example.: key is "trusted" now|
            -t|delegsync|-p|daemon.warning|--|backend-failing example.: connection refused|

            """)
        let mail = try String(contentsOfFile: "\(directory)/mailed", encoding: .utf8)
        XCTAssertTrue(mail.hasPrefix("To: hostmaster@example.net\nSubject: [delegsync] backend-failing example.\n"), mail)
        XCTAssertTrue(mail.contains("\nconnection refused\n"), mail)
        XCTAssertTrue(mail.contains(failing.json(agent: "ns0")), mail)
        XCTAssertFalse(mail.contains("key-trusted"), "key-trusted needs no attention: logged, not mailed")
    }
}
