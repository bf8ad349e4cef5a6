import ChildAgent
import DNSWire
import DelegationCore
import Foundation
import TestSupport
import Transport
import XCTest

/// `delegsync child watch` in-process on 127.0.0.1 (a random port above 20000), with the sync
/// replaced by a recorder: NOTIFYs sent by Transport.DNSClient over UDP and TCP get NOERROR from
/// the child's primary address, REFUSED from any other, NOTAUTH for an unknown zone and NOTIMP
/// for other opcodes, each refusal with its Extended DNS Error; an accepted NOTIFY syncs the
/// child once after the debounce (a second NOTIFY restarts the wait); `.stop` lets a running
/// sync finish; `.reload` re-reads the file.
final class ChildWatcherIntegrationTests: XCTestCase {
    /// What the injected sync saw: each child's start and end instants.
    actor SyncRecorder {
        var started: [(child: DomainName, at: ContinuousClock.Instant)] = []
        var ended: [(child: DomainName, at: ContinuousClock.Instant)] = []

        func start(_ child: DomainName) { started.append((child, .now)) }
        func end(_ child: DomainName) { ended.append((child, .now)) }
        func starts(of child: DomainName) -> [ContinuousClock.Instant] { started.filter { $0.child == child }.map(\.at) }
        func ends(of child: DomainName) -> [ContinuousClock.Instant] { ended.filter { $0.child == child }.map(\.at) }
    }

    /// A running watcher and how to stop it.
    struct Running {
        let watcher: ChildWatcher
        let port: Int
        let control: AsyncStream<ChildWatcher.Event>.Continuation
        let task: Task<Void, any Error>

        func stop() async throws {
            control.yield(.stop)
            try await task.value
        }
    }

    let child = try! DomainName("child.parent.")
    let other = try! DomainName("other.parent.")

    static func yaml(port: Int, debounce: Int, extraChild: String = "") -> String {
        """
        version: 1
        store:
          path: /nonexistent/child.sqlite
        watch:
          listen:
            - address: 127.0.0.1
              port: \(port)
          debounce: \(debounce)
          interval: 3600
        children:
          - name: child.parent.
            primary:
              address: 127.0.0.1
          - name: other.parent.
            primary:
              address: 127.0.0.9
        \(extraChild)
        """
    }

    /// Starts a watcher on a free port in 20000..<30000 (a few tries) and waits until it listens;
    /// with `configPath`, the YAML is written there too (for `.reload`).
    func start(
        debounce: Int = 1, configPath: String? = nil, sync: @escaping ChildWatcher.SyncAction
    ) async throws -> Running {
        for _ in 0..<8 {
            let port = Int.random(in: 20000..<30000)
            let text = Self.yaml(port: port, debounce: debounce)
            if let configPath { try text.write(toFile: configPath, atomically: true, encoding: .utf8) }
            let watcher = ChildWatcher(configuration: try ChildConfiguration.parse(text), configPath: configPath, sync: sync)
            let (events, control) = AsyncStream<ChildWatcher.Event>.makeStream()
            let (ready, readyContinuation) = AsyncStream<[Int]>.makeStream()
            let task = Task {
                defer { readyContinuation.finish() }
                try await watcher.run(events: events) { ports in
                    readyContinuation.yield(ports)
                    readyContinuation.finish()
                }
            }
            for await ports in ready {
                XCTAssertEqual(ports, [port])
                return Running(watcher: watcher, port: port, control: control, task: task)
            }
            _ = try? await task.value  // the port was taken: try another
        }
        // A failure, not a skip: a machine where this happens cannot run the watcher either.
        throw ToolError("no free port in 20000..<30000 after 8 tries")
    }

    /// Sends one message (NOTIFY for SOA by default) from 127.0.0.1 and checks the reply's
    /// header: same ID, opcode and question, QR set.
    func send(
        _ zone: String, to port: Int, over transport: DNSTransportKind, opcode: Opcode = .notify, type: RRType = .soa, edns: Bool = true
    ) async throws -> Message {
        var request = Message()
        request.id = UInt16.random(in: 1...UInt16.max)
        request.opcode = opcode
        request.header.aa = true
        request.question = [Question(name: try DomainName(zone), type: type)]
        if edns { request.edns = EDNS() }
        let bytes = try await DNSClient(timeout: .seconds(3)).exchange(request.wireFormat(), host: "127.0.0.1", port: port, transport: transport)
        let reply = try Message(wire: bytes)
        XCTAssertEqual(reply.id, request.id)
        XCTAssertTrue(reply.header.qr)
        XCTAssertEqual(reply.opcode, opcode)
        XCTAssertEqual(reply.question, request.question)
        return reply
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    func eventually(within seconds: Int, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    func recordingSync(_ recorder: SyncRecorder, takes duration: Duration = .zero) -> ChildWatcher.SyncAction {
        { _, child in
            await recorder.start(child.name)
            if duration > .zero { try? await Task.sleep(for: duration) }
            await recorder.end(child.name)
            return .done("in step (test)")
        }
    }

    func testRepliesToNotifyAndOtherRequests() async throws {
        let recorder = SyncRecorder()
        let running = try await start(sync: recordingSync(recorder))
        for transport in [DNSTransportKind.udp, .tcp] {
            let accepted = try await send("child.parent.", to: running.port, over: transport)
            XCTAssertEqual(accepted.rcode, .noError, "\(transport)")
            XCTAssertTrue(accepted.header.aa, "RFC 1996 §4.7: QR and AA")
            XCTAssertNotNil(accepted.edns)
            XCTAssertEqual(accepted.edns?.extendedErrors, [])

            let mixedCase = try await send("CHILD.Parent.", to: running.port, over: transport)
            XCTAssertEqual(mixedCase.rcode, .noError, "names compare case-insensitively")

            let refused = try await send("other.parent.", to: running.port, over: transport)
            XCTAssertEqual(refused.rcode, .refused, "other.parent.'s primary is 127.0.0.9")
            XCTAssertEqual(refused.edns?.extendedError?.infoCode, DelegationEDE.prohibited)
            XCTAssertTrue(refused.edns?.extendedError?.extraText.contains("127.0.0.9") ?? false, "\(String(describing: refused.edns))")

            let unknown = try await send("unknown.example.", to: running.port, over: transport)
            XCTAssertEqual(unknown.rcode, .notAuth)
            XCTAssertEqual(unknown.edns?.extendedError?.infoCode, DelegationEDE.notAuthoritative)

            let query = try await send("child.parent.", to: running.port, over: transport, opcode: .query)
            XCTAssertEqual(query.rcode, .notImp)
            XCTAssertEqual(query.edns?.extendedError?.infoCode, DelegationEDE.notSupported)

            let update = try await send("child.parent.", to: running.port, over: transport, opcode: .update)
            XCTAssertEqual(update.rcode, .notImp)
            XCTAssertEqual(update.edns?.extendedError?.infoCode, DelegationEDE.notSupported)

            let notSOA = try await send("child.parent.", to: running.port, over: transport, type: .cds)
            XCTAssertEqual(notSOA.rcode, .notImp)
            XCTAssertEqual(notSOA.edns?.extendedError?.infoCode, DelegationEDE.notSupported)

            let plain = try await send("unknown.example.", to: running.port, over: transport, edns: false)
            XCTAssertEqual(plain.rcode, .notAuth)
            XCTAssertNil(plain.edns, "no OPT in a reply to a request without one (RFC 6891 §7)")
        }
        try await running.stop()
    }

    func testNotifySyncsOnceAfterTheDebounceWhichANewNotifyRestarts() async throws {
        let recorder = SyncRecorder()
        let running = try await start(debounce: 2, sync: recordingSync(recorder))
        let startedUp = await eventually(within: 5) {
            let child = await recorder.ends(of: self.child).count
            let other = await recorder.ends(of: self.other).count
            return child == 1 && other == 1
        }
        XCTAssertTrue(startedUp, "every child is synced once at start")

        _ = try await send("child.parent.", to: running.port, over: .udp)
        try await Task.sleep(for: .seconds(1))
        let second = try await send("child.parent.", to: running.port, over: .tcp)
        let secondAt = ContinuousClock.now
        XCTAssertEqual(second.rcode, .noError)

        // Without the restart, the first NOTIFY's sync would start about 1 s after the second.
        try await Task.sleep(until: secondAt + .milliseconds(1500), clock: .continuous)
        let early = await recorder.starts(of: child).count
        XCTAssertEqual(early, 1, "no sync before the quiet time after the last NOTIFY")

        let synced = await eventually(within: 5) { await recorder.ends(of: self.child).count == 2 }
        XCTAssertTrue(synced, "the NOTIFYs led to a sync")
        let starts = await recorder.starts(of: child)
        if starts.count == 2 { XCTAssertGreaterThanOrEqual(starts[1] - secondAt, .milliseconds(1900)) }

        try await Task.sleep(for: .seconds(1))
        let childSyncs = await recorder.starts(of: child).count
        let otherSyncs = await recorder.starts(of: other).count
        XCTAssertEqual(childSyncs, 2, "one sync for both NOTIFYs")
        XCTAssertEqual(otherSyncs, 1, "the other child is left alone")
        try await running.stop()
    }

    func testStopLetsARunningSyncFinish() async throws {
        let recorder = SyncRecorder()
        let running = try await start(sync: recordingSync(recorder, takes: .seconds(2)))
        let began = await eventually(within: 5) { await recorder.starts(of: self.child).count == 1 }
        XCTAssertTrue(began)
        try await running.stop()
        let ended = await recorder.ends(of: child).count
        XCTAssertEqual(ended, 1, "run returned only after the running sync ended")
        // Nothing answers any more.
        do {
            _ = try await DNSClient(timeout: .milliseconds(500)).exchange(Message().wireFormat(), host: "127.0.0.1", port: running.port, transport: .tcp)
            XCTFail("the listener is still open after stop")
        } catch {}
    }

    func testReloadReadsTheFileAgain() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("child.yaml").path
        let recorder = SyncRecorder()
        let running = try await start(configPath: path, sync: recordingSync(recorder))
        let added = try DomainName("added.parent.")
        let before = try await send("added.parent.", to: running.port, over: .udp)
        XCTAssertEqual(before.rcode, .notAuth)

        let extra = """
              - name: added.parent.
                primary:
                  address: 127.0.0.1
            """
        try Self.yaml(port: running.port, debounce: 1, extraChild: extra).write(toFile: path, atomically: true, encoding: .utf8)
        running.control.yield(.reload)
        let startedUp = await eventually(within: 5) { await recorder.ends(of: added).count == 1 }
        XCTAssertTrue(startedUp, "a child added by the reload is synced at once")
        let after = try await send("added.parent.", to: running.port, over: .udp)
        XCTAssertEqual(after.rcode, .noError)

        // A broken file leaves the configuration in force.
        try "version: 1\nchildren: nonsense\n".write(toFile: path, atomically: true, encoding: .utf8)
        running.control.yield(.reload)
        try await Task.sleep(for: .milliseconds(300))
        let still = try await send("added.parent.", to: running.port, over: .tcp)
        XCTAssertEqual(still.rcode, .noError)
        try await running.stop()
    }

    func testAPortInUseIsAnError() async throws {
        let recorder = SyncRecorder()
        let first = try await start(sync: recordingSync(recorder))
        let watcher = ChildWatcher(configuration: try ChildConfiguration.parse(Self.yaml(port: first.port, debounce: 1)), sync: recordingSync(recorder))
        let (events, control) = AsyncStream<ChildWatcher.Event>.makeStream()
        defer { control.finish() }
        do {
            try await watcher.run(events: events)
            XCTFail("a second watcher on port \(first.port) started")
        } catch let error as ChildAgentError {
            XCTAssertTrue(error.description.contains("watch.listen"), error.description)
        }
        try await first.stop()
    }
}
