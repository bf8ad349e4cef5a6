@testable import Agent
import DNSWire
import DelegationCore
import Logging
import Store
import TestSupport
import Transport
import XCTest

/// The scan's I/O and its path to the parent, with a fake parent and fake child servers: the
/// change goes through the receiver's policy, content checks and backend; the result goes to
/// the audit, the metrics and the store; NOTIFY-scheduled and periodic scans run when due.
final class ScanWorkerTests: XCTestCase {
    let now: Int64 = 1_800_000_000
    let zoneName = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")
    let ns1 = "127.0.0.11", ns2 = "127.0.0.12"
    lazy var signer = ZoneSigner(inception: UInt32(now - 86400), expiration: UInt32(now + 30 * 86400))
    let ksk = ZoneSigner.key(try! DomainName("child.parent."))
    let newKSK = ZoneSigner.key(try! DomainName("child.parent."))
    let zsk = ZoneSigner.key(try! DomainName("child.parent."), flags: 256)
    var parent: FakeParent!
    var servers: FakeChildServers!
    var store: SQLiteStore!
    var queue: ScanQueue!
    var metrics: AgentMetrics!
    var configuration: AgentConfiguration!

    /// The child zone, signed: DNSKEY and CDS/CDNSKEY by `ksks`, the rest by the ZSK.
    func childZone(ksks: [ZoneSigner.Key], cds: [ZoneSigner.Key], extra: [Record] = []) throws -> [Record] {
        let data =
            [
                try Record("child.parent. 60 IN SOA ns1.child.parent. hostmaster.child.parent. 1 3600 900 604800 60"),
                try Record("child.parent. 60 IN NS ns1.child.parent."), try Record("child.parent. 60 IN NS ns2.child.parent."),
                try Record("ns1.child.parent. 60 IN A \(ns1)"), try Record("ns2.child.parent. 60 IN A \(ns2)"),
            ] + extra
        var records = signer.signed(data, with: [zsk]) + signer.signed((ksks + [zsk]).map(\.record), with: ksks)
        if !cds.isEmpty { records += signer.signed(cds.map(\.cdsRecord) + cds.map(\.cdnskeyRecord), with: ksks) }
        return records
    }

    override func setUpWithError() throws {
        configuration = try AgentConfiguration.parse(
            """
            version: 1
            zones:
              - name: parent.
                primary: { address: 127.0.0.1, port: 53 }
                backend: { type: script, output: "-" }
                scanner: { enabled: true, interval: 3600 }
            """)
        store = try SQLiteStore.inMemory()
        queue = ScanQueue()
        metrics = AgentMetrics()
        servers = FakeChildServers(zone: child)
        parent = FakeParent([
            try DelegationSnapshot(
                child: child,
                records: [
                    try Record("child.parent. 3600 IN NS ns1.child.parent."), try Record("child.parent. 3600 IN NS ns2.child.parent."),
                    try Record("ns1.child.parent. 3600 IN A \(ns1)"), try Record("ns2.child.parent. 3600 IN A \(ns2)"), ksk.dsRecord(),
                ])
        ])
    }

    func worker(delegations: @escaping @Sendable (AgentConfiguration.Zone) async throws -> [DomainName] = { _ in [] }) -> (ScanWorker, UpdateReceiver) {
        let receiver = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent,
            contentProbe: ChildContentProbe(exchange: servers.exchange), clock: { [now] in now }, logger: Logger(label: "test"), metrics: metrics, scans: queue)
        let worker = ScanWorker(
            configuration: configuration, store: store, reader: parent, delegations: delegations, receiver: receiver, queue: queue,
            scanner: ChildScanner(exchange: servers.exchange), logger: Logger(label: "test"), metrics: metrics, startedAt: now)
        return (worker, receiver)
    }

    var zone: AgentConfiguration.Zone { configuration.zones[0] }

    /// A KSK rollover ends with the new DS at the parent, committed like a signed UPDATE.
    func testRolloverReachesTheParent() async throws {
        servers.serve([ns1, ns2], try childZone(ksks: [ksk, newKSK], cds: [newKSK]))
        let report = await worker().0.scan(zone: zone, child: child, trigger: "periodic", now: now)
        XCTAssertEqual(report.commit?.rcode, .noError, report.text)
        XCTAssertEqual(parent.snapshot(child)?.ds, [newKSK.ds().rdata])
        XCTAssertEqual(parent.appliedCount, 1)
        let audit = try XCTUnwrap(store.audit(child: child, limit: 1).first)
        XCTAssertEqual(audit.transport, "scan")
        XCTAssertEqual(audit.decision, "NOERROR")
        XCTAssertTrue(audit.request.contains("DS"), audit.request)
        XCTAssertEqual(try store.scanState(zone: zoneName, child: child)?.lastScanAt, now)
        XCTAssertTrue(
            metrics.exposition(store: store).contains("delegsync_scans_total{trigger=\"periodic\",result=\"change\",rule=\"\"} 1"),
            metrics.exposition(store: store))
        // Every question went to both addresses over TCP, RD=0, DO=1.
        let asked = servers.asked
        for address in [ns1, ns2] {
            XCTAssertEqual(
                Set(asked.filter { $0.host == address && $0.question.name == child }.map(\.question.type)), [.soa, .cds, .cdnskey, .csync, .dnskey, .ns])
        }
        XCTAssertTrue(asked.allSatisfy { $0.transport == .tcp && !$0.recursionDesired && $0.dnssecOK })
    }

    /// With several agents on one store, a scanned change waits for the child's lock in the
    /// store like a signed UPDATE does: another agent committing for the child goes first.
    func testScannedChangeWaitsForTheStoresChildLock() async throws {
        servers.serve([ns1, ns2], try childZone(ksks: [ksk, newKSK], cds: [newKSK]))
        let otherAgent = try XCTUnwrap(try store.tryLockChild(zone: zoneName, child: child))
        let (scanner, _) = worker()
        let zone = self.zone, child = self.child, now = self.now
        let scan = Task { await scanner.scan(zone: zone, child: child, trigger: "periodic", now: now) }
        try await Task.sleep(for: .milliseconds(700))
        XCTAssertEqual(parent.appliedCount, 0, "committed while another agent held the child's lock")
        otherAgent.release()
        let report = await scan.value
        XCTAssertEqual(report.commit?.rcode, .noError, report.text)
        XCTAssertEqual(parent.appliedCount, 1)
    }

    /// RFC 9975: one server with another CDS — nothing changes, and the audit says why.
    func testInconsistentServersChangeNothing() async throws {
        servers.serve(ns1, try childZone(ksks: [ksk, newKSK], cds: [newKSK]))
        servers.serve(ns2, try childZone(ksks: [ksk], cds: [ksk]))
        let before = parent.snapshot(child)
        let report = await worker().0.scan(zone: zone, child: child, trigger: "NOTIFY(CDS) from 192.0.2.7:5300", now: now)
        XCTAssertNil(report.commit)
        XCTAssertEqual(report.outcome?.violation?.rule, "cds-inconsistent")
        XCTAssertEqual(parent.snapshot(child), before)
        let audit = try XCTUnwrap(store.audit(child: child, limit: 1).first)
        XCTAssertEqual(audit.decision, "REFUSED")
        XCTAssertEqual(audit.source, "NOTIFY(CDS) from 192.0.2.7:5300")
        XCTAssertTrue(audit.reason.contains("cds-inconsistent") && audit.reason.contains(ns2), audit.reason)
    }

    /// The change passes the zone's content checks before the commit, as a signed UPDATE's
    /// does: a DS for a key without the SEP bit (which the scan itself accepts: the key signs
    /// the DNSKEY RRset) is refused by `ds-matches-dnskey`.
    func testScanChangeGoesThroughTheContentChecks() async throws {
        let withoutSEP = ZoneSigner.key(child, flags: 256)
        servers.serve([ns1, ns2], try childZone(ksks: [ksk, withoutSEP], cds: [withoutSEP]))
        let report = await worker().0.scan(zone: zone, child: child, trigger: "periodic", now: now)
        XCTAssertTrue(report.outcome?.ds.isChange == true, report.text)
        XCTAssertEqual(report.commit?.rcode, .refused, report.text)
        XCTAssertEqual(report.commit?.rule, "ds-no-matching-dnskey", report.text)
        XCTAssertEqual(parent.snapshot(child)?.ds, [ksk.ds().rdata])
        XCTAssertEqual(try store.audit(child: child, limit: 1).first?.decision, "REFUSED")
    }

    /// A NOTIFY schedules the scan; it runs once due, and a second NOTIFY before that joins it.
    func testNotifyTriggersAScan() async throws {
        servers.serve([ns1, ns2], try childZone(ksks: [ksk, newKSK], cds: [newKSK]))
        let (worker, receiver) = worker()
        var header = Header()
        header.opcode = .notify
        let notify = try Message(header: header, question: [Question(name: child, type: .cds)], edns: EDNS()).wireFormat()
        let context = DNSRequestContext(sourceAddress: "192.0.2.7", sourcePort: 5300, transport: .udp)
        _ = await receiver.handle(notify, context: context)
        _ = await receiver.handle(notify, context: context)
        var ran = await worker.runOnce(now: now + 1)
        XCTAssertEqual(ran, 0)
        ran = await worker.runOnce(now: now + NotifyIntake.debounce)
        XCTAssertEqual(ran, 1)
        XCTAssertEqual(parent.snapshot(child)?.ds, [newKSK.ds().rdata])
        XCTAssertTrue(try store.audit(child: child, limit: 5).contains { $0.source == "NOTIFY(CDS) from 192.0.2.7:5300" && $0.transport == "scan" })
    }

    /// Periodic scans: each child once per interval, at its own offset; the list comes from
    /// the zone transfer.
    func testPeriodicScansOncePerInterval() async throws {
        servers.serve([ns1, ns2], try childZone(ksks: [ksk], cds: [ksk]))
        let (worker, _) = worker(delegations: { [child] _ in [child] })
        var scans: [Int64] = []
        for second in stride(from: Int64(0), through: 7200, by: 30) where await worker.runOnce(now: now + second) > 0 {
            scans.append(second)
        }
        XCTAssertEqual(scans.count, 2, "\(scans)")
        if scans.count == 2 { XCTAssertEqual(scans[1] - scans[0], 3600, accuracy: 30) }
        XCTAssertEqual(parent.appliedCount, 0, "nothing to change")
        // A periodic scan that finds nothing new is not audited again.
        XCTAssertEqual(try store.audit(child: child, limit: 10).count, 1)
    }

    /// When the primary refuses the transfer, the children the store knows are still scanned.
    func testChildrenTheStoreKnowsAreScannedWithoutATransfer() async throws {
        servers.serve([ns1, ns2], try childZone(ksks: [ksk], cds: [ksk]))
        try store.putScanState(ScanState(zone: zoneName, child: child, lastScanAt: now - 7200, lastResult: "earlier"))
        let (worker, _) = worker(delegations: { _ in throw ParentReadError(description: "REFUSED") })
        let ran = await worker.runOnce(now: now)
        XCTAssertEqual(ran, 1)
        XCTAssertEqual(try store.scanState(zone: zoneName, child: child)?.lastScanAt, now)
    }

    func testSlots() {
        XCTAssertTrue(PeriodicScanSchedule.isDue(child, lastScan: now, interval: 3600, now: now + 3600))
        XCTAssertFalse(PeriodicScanSchedule.isDue(child, lastScan: now + 3600, interval: 3600, now: now + 3600))
        let other = try! DomainName("other.parent.")
        let slots = (0..<3600).filter { PeriodicScanSchedule.isDue(other, lastScan: now + Int64($0) - 1, interval: 3600, now: now + Int64($0)) }
        XCTAssertEqual(slots.count, 1, "one slot per interval")
    }
}
