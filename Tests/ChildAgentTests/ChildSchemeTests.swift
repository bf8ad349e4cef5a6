import ChildAgent
import DNSWire
import Logging
import NIOConcurrencyHelpers
import Store
import TestSupport
import Transport
import XCTest

/// `scheme: update|notify|both` of `delegsync child watch` (RFC 9859 §3, §4): the child of
/// ``ChildApexReaderTests`` (server 192.0.2.1, primary 192.0.2.10) under the parent of
/// ``ParentDelegationReaderTests`` (192.0.2.100), which starts in step; the NOTIFYs go to a fake
/// parent (``ChildNotifyTests/parent(_:silentAt:)``), the configured target 192.0.2.80:5302.
final class ChildSchemeTests: XCTestCase {
    let zone = try! DomainName("child.parent.")
    /// The DS of the DNSKEY in ``ChildApexReaderTests/dnskey`` is not this one.
    static let otherDS = "child.parent. 300 IN DS 4711 15 2 0000000000000000000000000000000000000000000000000000000000000000"

    /// The parent's referral without the child's second NS (`ns.provider.example.`).
    static let oneNS = ScriptedLookup.Reply.referral(
        ["child.parent. 3600 IN NS ns1.child.parent."], glue: ["ns1.child.parent. 3600 IN A 192.0.2.1", "ns1.child.parent. 3600 IN AAAA 2001:db8::1"])

    struct World {
        let lookup: ScriptedLookup
        let store: SQLiteStore
        let synchronizer: ChildSynchronizer
        let sent: NIOLockedValueBox<[(Message, String, Int, DNSTransportKind)]>
        let send: NotifySend
    }

    /// `target` is the child's `target:` line, or a resolver for DSYNC discovery.
    func world(scheme: String, now: Int64 = 1_800_000_000, target: String = "target: { address: 192.0.2.80, port: 5302 }") throws -> World {
        let lookup = ScriptedLookup(ChildApexReaderTests.childServer("192.0.2.1"))
        lookup.set(ParentDelegationReaderTests.parentServer("192.0.2.100"))
        lookup.set(["192.0.2.10 child.parent. CSYNC": .noData(zone: "child.parent.", aa: true)])
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("scheme-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: keys) }
        let configuration = try ChildConfiguration.parse(
            """
            version: 1
            key-directory: \(keys)
            resolver: { address: \(ChildNotifyTests.resolver) }
            children:
              - name: child.parent.
                primary: { address: 192.0.2.10 }
                servers: [{ address: 192.0.2.1 }]
                parent-servers: [{ address: 192.0.2.100 }]
                \(target)
                scheme: \(scheme)
            """)
        XCTAssertEqual(configuration.children[0].scheme.rawValue, scheme)
        let store = try SQLiteStore.inMemory()
        let synchronizer = ChildSynchronizer(
            configuration: configuration, child: configuration.children[0], store: store, lookup: lookup, clock: { now })
        let (send, sent) = ChildNotifyTests.parent(.noError)
        return World(lookup: lookup, store: store, synchronizer: synchronizer, sent: sent, send: send)
    }

    func sync(_ world: World, _ scheme: ChildConfiguration.Scheme) async throws -> ChildSynchronizer.SchemeReport {
        try await world.synchronizer.sync(scheme: scheme, attempts: 1, send: world.send)
    }

    func testInStepSendsNothing() async throws {
        let world = try world(scheme: "notify")
        let report = try await sync(world, .notify)
        XCTAssertTrue(report.inStep)
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(world.sent.withLockedValue { $0.count }, 0)
        XCTAssertNil(try world.store.childSchemeState(child: zone), "nothing sent, nothing stored")
    }

    /// A new CDS at the child: NOTIFY(CDS) to the target, no UPDATE, the answer stored.
    func testNotifySchemeAnnouncesADSChangeWithNotifyCDS() async throws {
        let world = try world(scheme: "notify")
        world.lookup.set(ParentDelegationReaderTests.parentServer("192.0.2.100", ["child.parent. DS": .records(Self.otherDS, aa: true)]))
        let report = try await sync(world, .notify)
        XCTAssertFalse(report.inStep)
        XCTAssertNil(report.update)
        XCTAssertEqual(report.notified.map(\.type), [.cds])
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(report.warnings, [])
        XCTAssertEqual(report.summary, "scheme notify: NOTIFY(CDS): the parent answered NOERROR and scans the child")
        let sent = try XCTUnwrap(world.sent.withLockedValue { $0 }.first)
        XCTAssertEqual(sent.0.question, [Question(name: zone, type: .cds)])
        XCTAssertEqual([sent.1, String(sent.2)], ["192.0.2.80", "5302"])
        XCTAssertFalse(world.lookup.queries.contains { $0.type == .csync }, "no CSYNC needed for a DS change")

        let state = try XCTUnwrap(try world.store.childSchemeState(child: zone))
        XCTAssertEqual(state.scheme, "notify")
        XCTAssertEqual(state.sentAt, 1_800_000_000)
        XCTAssertNil(state.update)
        XCTAssertEqual(state.notify, "CDS: NOERROR")
        XCTAssertNil(state.inStepAt)

        // The parent scanned and now serves the child's DS: the next sync notes when.
        world.lookup.set(ParentDelegationReaderTests.parentServer("192.0.2.100"))
        let later = try await ChildSynchronizer(
            configuration: world.synchronizer.configuration, child: world.synchronizer.child, store: world.store, lookup: world.lookup,
            clock: { 1_800_000_060 }
        ).sync(scheme: .notify, attempts: 1, send: world.send)
        XCTAssertTrue(later.inStep)
        XCTAssertEqual(try world.store.childSchemeState(child: zone)?.inStepAt, 1_800_000_060)
        XCTAssertEqual(world.sent.withLockedValue { $0.count }, 1)
    }

    /// Without `target`, `notify` finds the parent through the DSYNC record of the NOTIFY scheme
    /// for CDS: the parent need not publish an UPDATE receiver.
    func testNotifySchemeFindsTheParentThroughTheNotifyDSYNCRecord() async throws {
        let world = try world(scheme: "notify", target: "")
        world.lookup.set([
            "\(ChildNotifyTests.resolver) child._dsync.parent. DSYNC": .records("child._dsync.parent. 300 IN DSYNC CDS NOTIFY 5303 scanner.parent."),
            "\(ChildNotifyTests.resolver) scanner.parent. A": .records("scanner.parent. 300 IN A 192.0.2.81"),
            "\(ChildNotifyTests.resolver) scanner.parent. AAAA": .records(),
        ])
        world.lookup.set(ParentDelegationReaderTests.parentServer("192.0.2.100", ["child.parent. DS": .records(Self.otherDS, aa: true)]))
        let report = try await sync(world, .notify)
        XCTAssertEqual(report.notified.map(\.type), [.cds])
        XCTAssertTrue(report.succeeded, report.summary)
        XCTAssertEqual(world.sent.withLockedValue { $0.map { "\($0.1):\($0.2)" } }, ["192.0.2.81:5303"])

        do {
            _ = try await sync(world, .update)
            XCTFail("no UPDATE receiver is published")
        } catch is DSYNCDiscoveryError {}
    }

    /// A DS change the child has no CDS/CDNSKEY for (the DS comes from the DNSKEY): the parent's
    /// scan could not find it, so nothing is sent and the warning says what to publish.
    func testNotifySchemeWithoutCDSWarnsAndSendsNothing() async throws {
        let world = try world(scheme: "notify")
        world.lookup.set(ChildApexReaderTests.childServer("192.0.2.1", ["child.parent. CDS": .noData(zone: "child.parent.", aa: true)]))
        let report = try await sync(world, .notify)
        XCTAssertEqual(report.notified.count, 0)
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.warnings.count, 1)
        XCTAssertTrue(report.warnings[0].contains("publishes no CDS or CDNSKEY"), report.warnings[0])
        XCTAssertTrue(report.summary.contains("nothing sent"), report.summary)
        XCTAssertEqual(world.sent.withLockedValue { $0.count }, 0)
        let state = try XCTUnwrap(try world.store.childSchemeState(child: zone))
        XCTAssertNil(state.notify)
        XCTAssertTrue(state.warnings.contains("no NOTIFY(CDS) was sent"), state.warnings)
    }

    /// An NS the parent lacks: NOTIFY(CSYNC) only when the primary's CSYNC lists NS (and the
    /// address types that change), with a note when `immediate` is missing.
    func testNotifySchemeAnnouncesAnNSChangeOnlyWithAMatchingCSYNC() async throws {
        let world = try world(scheme: "notify")
        world.lookup.set(ParentDelegationReaderTests.parentServer("192.0.2.100", ["child.parent. NS": Self.oneNS]))
        let missing = try await sync(world, .notify)
        XCTAssertEqual(missing.notified.count, 0)
        XCTAssertTrue(missing.warnings.first?.contains("publishes no CSYNC") == true, "\(missing.warnings)")

        world.lookup.set(["192.0.2.10 child.parent. CSYNC": .records("child.parent. 300 IN CSYNC 1 1 A AAAA", aa: true)])
        let partial = try await sync(world, .notify)
        XCTAssertEqual(partial.notified.count, 0)
        XCTAssertTrue(partial.warnings.first?.contains("does not list NS") == true, "\(partial.warnings)")

        world.lookup.set(["192.0.2.10 child.parent. CSYNC": .records("child.parent. 300 IN CSYNC 1 0 A NS AAAA", aa: true)])
        let lazy = try await sync(world, .notify)
        XCTAssertEqual(lazy.notified.map(\.type), [.csync])
        XCTAssertTrue(lazy.warnings.first?.contains("lacks the immediate flag") == true, "\(lazy.warnings)")

        world.lookup.set(["192.0.2.10 child.parent. CSYNC": .records("child.parent. 300 IN CSYNC 1 1 A NS AAAA", aa: true)])
        let immediate = try await sync(world, .notify)
        XCTAssertEqual(immediate.notified.map(\.type), [.csync])
        XCTAssertEqual(immediate.warnings, [])
        XCTAssertEqual(world.sent.withLockedValue { $0.map(\.0.question) }, Array(repeating: [Question(name: zone, type: .csync)], count: 2))
        XCTAssertTrue(world.lookup.queries.filter { $0.type == .csync }.allSatisfy { !$0.recursionDesired && $0.transport == .tcp })

        // The primary does not answer for CSYNC: a warning, and the DS change is still announced.
        world.lookup.set(["192.0.2.10 child.parent. CSYNC": .timeout])
        world.lookup.set(
            ParentDelegationReaderTests.parentServer("192.0.2.100", ["child.parent. NS": Self.oneNS, "child.parent. DS": .records(Self.otherDS, aa: true)]))
        let unread = try await sync(world, .notify)
        XCTAssertEqual(unread.notified.map(\.type), [.cds])
        XCTAssertEqual(unread.warnings.count, 1)
        XCTAssertTrue(unread.warnings.first?.contains("cannot read the CSYNC of child.parent. from its primary") == true, "\(unread.warnings)")
    }

    /// `both`: the UPDATE goes first (here it cannot: no key pair, so nothing leaves the
    /// machine), its failure is reported, and the NOTIFY is sent all the same.
    func testBothSendsTheNotifiesWhenTheUpdateFails() async throws {
        let world = try world(scheme: "both")
        world.lookup.set(ParentDelegationReaderTests.parentServer("192.0.2.100", ["child.parent. DS": .records(Self.otherDS, aa: true)]))
        let report = try await sync(world, .both)
        guard case .failure(let error)? = report.update else { return XCTFail("the UPDATE cannot be signed: \(String(describing: report.update))") }
        XCTAssertEqual(error.code, .configuration)
        XCTAssertEqual(report.notified.map(\.type), [.cds])
        XCTAssertTrue(report.succeeded)
        XCTAssertTrue(report.summary.hasPrefix("scheme both: UPDATE: no key pair"), report.summary)
        let state = try XCTUnwrap(try world.store.childSchemeState(child: zone))
        XCTAssertEqual(state.scheme, "both")
        XCTAssertTrue(state.update?.contains("no key pair") == true, state.update ?? "nil")
        XCTAssertEqual(state.notify, "CDS: NOERROR")
    }

    /// `update` throws the UPDATE's failure as `child sync` does, and remembers it.
    func testUpdateSchemeThrowsAndRemembersTheFailure() async throws {
        let world = try world(scheme: "update")
        world.lookup.set(ParentDelegationReaderTests.parentServer("192.0.2.100", ["child.parent. DS": .records(Self.otherDS, aa: true)]))
        do {
            _ = try await sync(world, .update)
            XCTFail("no key pair: the UPDATE cannot be sent")
        } catch let error as ChildAgentError {
            XCTAssertEqual(error.code, .configuration)
        }
        XCTAssertEqual(world.sent.withLockedValue { $0.count }, 0)
        let state = try XCTUnwrap(try world.store.childSchemeState(child: zone))
        XCTAssertEqual(state.scheme, "update")
        XCTAssertNil(state.notify)
        XCTAssertTrue(state.update?.contains("no key pair") == true, state.update ?? "nil")
    }

    func testSchemeIsCheckedInTheConfiguration() throws {
        let base = "version: 1\nchildren:\n  - name: child.parent.\n    primary: { address: 192.0.2.10 }\n"
        XCTAssertEqual(try ChildConfiguration.parse(base).children[0].scheme, .update, "the default is today's behaviour")
        XCTAssertThrowsError(try ChildConfiguration.parse(base + "    scheme: cds\n")) { error in
            XCTAssertTrue("\(error)".contains("children[0].scheme: \"cds\" is not update, notify or both"), "\(error)")
        }
    }

    func testChangedTypesOfADiff() throws {
        let ns = try Record("child.parent. 300 IN NS ns9.child.parent.")
        let ds = try Record(Self.otherDS)
        XCTAssertEqual(NotifyPlan.changedTypes([.add(ns), .delete(ds)]), [.ns, .ds])
        XCTAssertEqual(NotifyPlan.changedTypes([.deleteName(try DomainName("ns9.child.parent."))]), [.ns, .a, .aaaa])
        XCTAssertEqual(NotifyPlan.changedTypes([.deleteRRset(zone, .key)]), [], "KEY needs no NOTIFY")
        XCTAssertTrue(NotifyPlan.needsCSYNC([.a]))
        XCTAssertFalse(NotifyPlan.needsCSYNC([.ds]))
    }

    /// Log lines kept in memory, with their level.
    struct RecordingLogHandler: LogHandler {
        let lines: NIOLockedValueBox<[(Logger.Level, String)]>
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) { lines.withLockedValue { $0.append((event.level, "\(event.message)")) } }
    }

    /// The watcher's sync with `scheme: notify` and a DS change the zone has no CDS for: a
    /// warning saying what to publish, and the sync counted as failed, not silence.
    func testWatchSyncWarnsWhenTheZoneLacksWhatTheParentScans() async throws {
        let world = try world(scheme: "notify")
        world.lookup.set(ChildApexReaderTests.childServer("192.0.2.1", ["child.parent. CDS": .noData(zone: "child.parent.", aa: true)]))
        let lines = NIOLockedValueBox<[(Logger.Level, String)]>([])
        let logger = Logger(label: "test") { _ in RecordingLogHandler(lines: lines) }
        let sync = ChildWatcher.synchronizing(store: world.store, logger: logger, lookup: world.lookup, send: world.send)
        let outcome = await sync(world.synchronizer.configuration, world.synchronizer.child)
        guard case .failed(let text) = outcome else { return XCTFail("nothing was sent, so the sync failed: \(outcome)") }
        XCTAssertTrue(text.contains("nothing sent"), text)
        let warnings = lines.withLockedValue { $0 }.filter { $0.0 == .warning }.map(\.1)
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(warnings.first?.contains("publish CDS/CDNSKEY") == true, "\(warnings)")
        XCTAssertEqual(world.sent.withLockedValue { $0.count }, 0)

        // With the CDS back, the same sync sends NOTIFY(CDS) and is done.
        world.lookup.set(ChildApexReaderTests.childServer("192.0.2.1"))
        world.lookup.set(ParentDelegationReaderTests.parentServer("192.0.2.100", ["child.parent. DS": .records(Self.otherDS, aa: true)]))
        guard case .done(let done) = await sync(world.synchronizer.configuration, world.synchronizer.child) else { return XCTFail("NOTIFY(CDS) answered") }
        XCTAssertEqual(done, "scheme notify: NOTIFY(CDS): the parent answered NOERROR and scans the child")
    }
}
