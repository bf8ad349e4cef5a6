import Backends
import DNSWire
import Foundation
import TestSupport
import Transport
import XCTest

/// Issue 15, item 4: children that commit at the same moment share UPDATE messages to the
/// primary, over one persistent connection, and each child is still confirmed only once the
/// primary confirmed its own change. Against the real BIND and Knot.
final class BatchedCommitTests: XCTestCase {
    /// Twenty children, the same changes as the concurrent battery.
    static var children: [String] { ConcurrentBackendTests.children }

    /// Child 7's change with a prerequisite that does not hold at the primary (RFC 2136 §2.4.1:
    /// its DS RRset exists, and it has none): the primary answers NXRRSET.
    static func updates(failing culprit: Int?) -> [Update] {
        children.indices.map { index in
            var update = ConcurrentBackendTests.update(index)
            if index == culprit { update.requireRRsetExists(try! DomainName("\(children[index]).parent."), .ds) }
            return update
        }
    }

    /// Applies `updates` at once through `backend`; the error of each child, nil for a commit.
    static func applyAll(_ updates: [Update], through backend: any DelegationBackend) async -> [String?] {
        await withTaskGroup(of: (Int, String?).self) { group in
            for (index, update) in updates.enumerated() {
                group.addTask {
                    do {
                        try await backend.apply(update)
                        return (index, nil)
                    } catch {
                        return (index, "\(error)")
                    }
                }
            }
            var results = [String?](repeating: "not run", count: updates.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
    }

    func checkOneFailingPrerequisite(on server: LabServer, key: TSIGKey, file: StaticString = #filePath, line: UInt = #line) async throws {
        let connection = DNSConnection(host: server.address, port: server.port)
        let queue = UpdateQueue()
        let backend = RFC2136Backend(server: server.address, port: server.port, key: key, connection: connection, queue: queue)
        let culprit = 6
        let before = try Lab.served(server, child: "c07.parent.")
        let clock = ContinuousClock(), started = clock.now
        let results = await Self.applyAll(Self.updates(failing: culprit), through: backend)
        print("batched commits \(server.kind): 20 changes in \(clock.now - started), \(await queue.messagesSent) messages")
        for index in Self.children.indices where index != culprit {
            XCTAssertNil(results[index], "\(Self.children[index]) was not confirmed", file: file, line: line)
            let served = try Lab.served(server, child: "\(Self.children[index]).parent.")
            let want = ConcurrentBackendTests.expected(index)
            XCTAssertEqual(served.ns, want.ns, Self.children[index], file: file, line: line)
            XCTAssertEqual(served.glue, want.glue, Self.children[index], file: file, line: line)
            XCTAssertEqual(served.ds, want.ds, Self.children[index], file: file, line: line)
        }
        // The culprit is reported as refused, for good (the same change cannot succeed), and
        // nothing of its change reached the zone.
        XCTAssertNotNil(results[culprit], file: file, line: line)
        XCTAssertTrue(results[culprit]?.contains("NXRRSET") ?? false, results[culprit] ?? "", file: file, line: line)
        let after = try Lab.served(server, child: "c07.parent.")
        XCTAssertEqual(after.ns, before.ns, file: file, line: line)
        XCTAssertEqual(after.glue, before.glue, file: file, line: line)
        XCTAssertEqual(after.ds, [], file: file, line: line)
        // The changes shared messages (the first goes alone, the others arrive while it is on its
        // way), a merged one failed and was split, and all of it went over one connection.
        let sent = await queue.messagesSent, split = await queue.batchesSplit
        XCTAssertLessThan(sent, 2 * Self.children.count, "every change went alone", file: file, line: line)
        XCTAssertGreaterThanOrEqual(split, 1, "the merged UPDATE holding the culprit was not split", file: file, line: line)
        XCTAssertEqual(connection.connectionsOpened, 1, file: file, line: line)
    }

    func testOneChildsPrerequisiteFailsInABatchOnBIND() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let server = try LabServer.bind(zone: "parent.", zoneFileText: Lab.apex + ConcurrentBackendTests.delegations, address: "127.0.0.75", port: 16040)
        defer { server.stop() }
        let key = try TSIGKey(bindKeyFile: String(contentsOfFile: server.tsigKeyFile!, encoding: .utf8))
        try await checkOneFailingPrerequisite(on: server, key: key)
    }

    func testOneChildsPrerequisiteFailsInABatchOnKnot() async throws {
        try Lab.skipUnlessAvailable(.knot)
        let server = try LabServer.knot(zone: "parent.", zoneFileText: Lab.apex + ConcurrentBackendTests.delegations, address: "127.0.0.76", port: 16041)
        defer { server.stop() }
        let key = try TSIGKey(string: "hmac-sha256:\(server.tsigKeyName!):\(server.tsigSecret!)")
        try await checkOneFailingPrerequisite(on: server, key: key)
    }

    /// The connection to the primary drops while the batch is on its way. First the relay
    /// passes the batch on but closes the connection instead of returning the primary's answer:
    /// nothing may be confirmed on that (lost) answer; the changes are sent again on a new
    /// connection and confirmed by the primary's answer there. Then the relay drops every
    /// request: every child's apply fails, none is confirmed, and the zone holds none of them.
    func testConnectionDroppedMidBatchOnBIND() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let server = try LabServer.bind(zone: "parent.", zoneFileText: Lab.apex + ConcurrentBackendTests.delegations, address: "127.0.0.77", port: 16042)
        defer { server.stop() }
        let key = try TSIGKey(bindKeyFile: String(contentsOfFile: server.tsigKeyFile!, encoding: .utf8))

        // Everything dropped: nobody is confirmed.
        let dropping = try DroppingRelay(listen: ("127.0.0.78", 16043), upstream: (server.address, server.port)) { _ in .drop }
        defer { dropping.stop() }
        let lost = RFC2136Backend(
            server: "127.0.0.78", port: 16043, key: key, connection: DNSConnection(host: "127.0.0.78", port: 16043, timeout: .seconds(3)), queue: UpdateQueue())
        let failures = await Self.applyAll(Self.updates(failing: nil), through: lost)
        XCTAssertEqual(failures.filter { $0 == nil }.count, 0, "confirmed without an answer from the primary")
        XCTAssertEqual(try Lab.served(server, child: "c01.parent.").ns, ["c01.parent. ns ns1.c01.parent."])

        // The first connection loses the primary's answer; the retry on a new one gets it.
        let relay = try DroppingRelay(listen: ("127.0.0.78", 16044), upstream: (server.address, server.port)) { connection in
            connection == 0 ? .forwardThenDrop : .forward
        }
        defer { relay.stop() }
        let queue = UpdateQueue()
        let backend = RFC2136Backend(
            server: "127.0.0.78", port: 16044, key: key, connection: DNSConnection(host: "127.0.0.78", port: 16044, timeout: .seconds(3)), queue: queue)
        let results = await Self.applyAll(Self.updates(failing: nil), through: backend)
        XCTAssertEqual(results.compactMap { $0 }, [])
        XCTAssertGreaterThanOrEqual(relay.connections, 2, "the lost answer was not retried on a new connection")
        XCTAssertGreaterThanOrEqual(relay.forwardedBeforeDrop, 1)
        for index in Self.children.indices {
            XCTAssertEqual(try Lab.served(server, child: "\(Self.children[index]).parent.").ns, ConcurrentBackendTests.expected(index).ns)
        }
    }
}
