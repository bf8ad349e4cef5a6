import DNSWire
import DelegationCore
import Foundation
import XCTest

@testable import Store

/// The battery, continued: what the store keeps for the operator events (episodes, the outbox
/// backlog), the scanner's state (``ScanStateStore``) and the status secret — on each store, and
/// the same for a second instance (a restart, or another agent on the same database).
extension StoreBattery {
    func testEpisodesArePutReplacedAndRemoved() throws {
        let store = try makeStore()
        XCTAssertEqual(try store.eventEpisodes(), [])
        let backend = EventMonitor.Episode(kind: .backendFailing, zone: parent, since: 100, detail: "connection refused")
        let late = EventMonitor.Episode(kind: .outOfStep, zone: parent, child: child, since: 50, reportedAt: 200)
        try store.putEventEpisode(backend)
        try store.putEventEpisode(late)
        XCTAssertEqual(try store.eventEpisodes(), [backend, late])

        var reported = backend
        reported.reportedAt = 1000
        try store.putEventEpisode(reported)
        XCTAssertEqual(try store.eventEpisodes(), [reported, late], "one row per kind, zone and child")

        XCTAssertNil(try store.removeEventEpisode(.outOfStep, zone: parent, child: other))
        XCTAssertNil(try store.removeEventEpisode(.backendFailing, zone: parent, child: child))
        XCTAssertEqual(try store.removeEventEpisode(.backendFailing, zone: try DomainName("PARENT."), child: nil), reported, "names ignore case")
        XCTAssertEqual(try store.eventEpisodes(), [late])
    }

    /// Per child: the oldest pending entry's time, signer and last error, and the count; applied
    /// and given-up entries do not count.
    func testOutboxBacklog() throws {
        let store = try makeStore()
        let ops: [Update.Operation] = [.add(try Record("child.parent. 3600 IN NS ns1.child.parent."))]
        let old = KeyIdentity(zone: parent, child: child, rdata: [1, 0, 3, 15, 0xAA])
        let new = KeyIdentity(zone: parent, child: child, rdata: [1, 0, 3, 15, 0xBB])
        let applied = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: ops, createdAt: 10, nextAttemptAt: 10, signer: new))
        try store.markApplied(id: applied)
        let first = try store.enqueue(OutboxEntry(zone: parent, child: child, operations: ops, createdAt: 20, nextAttemptAt: 20, signer: old))
        try store.markAttemptFailed(id: first, error: "connection refused", nextAttemptAt: 30)
        try store.enqueue(OutboxEntry(zone: parent, child: child, operations: ops, createdAt: 40, nextAttemptAt: 40, signer: new))
        let gone = try store.enqueue(OutboxEntry(zone: parent, child: other, operations: [.deleteName(other)], createdAt: 5, nextAttemptAt: 5))
        try store.markFailed(id: gone, error: "given up")
        try store.enqueue(OutboxEntry(zone: parent, child: other, operations: [.deleteName(other)], createdAt: 60, nextAttemptAt: 60))

        XCTAssertEqual(
            try store.outboxBacklog(),
            [
                EventMonitor.Backlog(zone: parent, child: child, oldest: 20, count: 2, signer: old, lastError: "connection refused"),
                EventMonitor.Backlog(zone: parent, child: other, oldest: 60, count: 1, signer: nil, lastError: nil),
            ])
    }

    func testScanStatePutReplaceAndList() throws {
        let store = try makeStore()
        XCTAssertNil(try store.scanState(zone: parent, child: child))
        let observation = BootstrapObservation(ds: [[0, 1, 13, 2, 9]], firstSeen: 100, lastCounted: 200, scans: 2)
        try store.putScanState(ScanState(zone: parent, child: child, lastScanAt: 200, lastResult: "waiting", bootstrap: observation))
        XCTAssertEqual(
            try store.scanState(zone: parent, child: try DomainName("CHILD.Parent.")),
            ScanState(zone: parent, child: child, lastScanAt: 200, lastResult: "waiting", bootstrap: observation))
        try store.putScanState(ScanState(zone: parent, child: child, lastScanAt: 300, lastResult: "DS added"))
        XCTAssertEqual(try store.scanState(zone: parent, child: child), ScanState(zone: parent, child: child, lastScanAt: 300, lastResult: "DS added"))
        let zone = try DomainName("other.")
        try store.putScanState(ScanState(zone: zone, child: try DomainName("a.other."), lastScanAt: 1, lastResult: ""))
        XCTAssertEqual(try store.scanStates(zone: parent).map(\.child), [child])
        XCTAssertEqual(try store.scanStates(zone: nil).map(\.zone), [zone, parent].sorted { $0.description < $1.description })
    }

    /// Every store gets its own 32-octet secret, and every instance on a store reads the same.
    func testStatusSecretIsPerStore() throws {
        let store = try makeStore()
        let secret = try store.statusSecret()
        XCTAssertEqual(secret.count, 32)
        XCTAssertNotEqual(secret, try makeStore().statusSecret())
        if let second = try secondInstance(of: store) { XCTAssertEqual(try second.statusSecret(), secret) }
    }

    /// Episodes and the scanner's multi-day observation survive a restart, and another agent on
    /// the same store sees them.
    func testEpisodesAndScanStateAcrossInstances() throws {
        let first = try makeStore()
        guard let second = try secondInstance(of: first) else { throw XCTSkip("no second instance of this store") }
        let episode = EventMonitor.Episode(kind: .backendFailing, zone: parent, since: 100, reportedAt: 1000, detail: "timeout")
        try first.putEventEpisode(episode)
        let observation = BootstrapObservation(ds: [[0, 1, 13, 2, 9]], firstSeen: 100, lastCounted: 100, scans: 1)
        try first.putScanState(ScanState(zone: parent, child: child, lastScanAt: 100, lastResult: "waiting", bootstrap: observation))
        XCTAssertEqual(try second.eventEpisodes(), [episode])
        XCTAssertEqual(try second.scanState(zone: parent, child: child)?.bootstrap, observation)
        XCTAssertEqual(try second.removeEventEpisode(.backendFailing, zone: parent, child: nil), episode)
        XCTAssertEqual(try first.eventEpisodes(), [], "removed by the other instance")
    }
}
