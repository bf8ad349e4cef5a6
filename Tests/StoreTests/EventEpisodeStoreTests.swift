import DNSWire
import DelegationCore
import Foundation
import XCTest

import Store

/// What the store keeps for the operator events: the open episodes (one per kind, zone and
/// child, surviving a reopen of the file) and the outbox summarized per child.
final class EventEpisodeStoreTests: XCTestCase {
    let parent = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")
    let other = try! DomainName("other.parent.")

    func testEpisodesArePutReplacedAndRemoved() throws {
        let store = try SQLiteStore.inMemory()
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

    func testEpisodesSurviveReopeningTheFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        let episode = EventMonitor.Episode(kind: .backendFailing, zone: parent, since: 100, reportedAt: 1000, detail: "timeout")
        try SQLiteStore(path: path).putEventEpisode(episode)
        XCTAssertEqual(try SQLiteStore(path: path).eventEpisodes(), [episode])
    }

    /// Per child: the oldest pending entry's time, signer and last error, and the count; applied
    /// and given-up entries do not count.
    func testOutboxBacklog() throws {
        let store = try SQLiteStore.inMemory()
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
}
