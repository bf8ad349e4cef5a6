import DNSWire
import DelegationCore
import Foundation
import XCTest

@testable import Agent
@testable import Store

/// Group commit on the receive path (issue 15, item 3): requests that arrive together share a
/// store transaction, yet the replay rule holds inside a batch, and a batch that fails
/// acknowledges none of its requests.
extension UpdateReceiverTests {
    /// Blocks the store (an in-memory store is one serial connection) from another thread until
    /// `release` is called, so writes handed to the group commit meanwhile wait in one batch.
    final class StoreHold: @unchecked Sendable {
        private let held = DispatchSemaphore(value: 0)
        private let released = DispatchSemaphore(value: 0)

        init(_ store: SQLiteStore) {
            Thread.detachNewThread { [held, released] in
                try? store.write("hold the store for a test") { _ in
                    held.signal()
                    released.wait()
                }
            }
            held.wait()
        }

        func release() { released.signal() }
    }

    /// Waits until `condition`, at most 60 s (XCTest on Linux has no time limit of its own: a
    /// test waiting for something that never comes would hang the run). The caller goes on
    /// either way, so a hold is always released.
    func waitUntil(_ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) async {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < deadline else { return XCTFail("waited 60 s in vain", file: file, line: line) }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Occupies the group commit's writer with one write the held store keeps waiting, so that
    /// what is handed over next shares the following batch. Returns that first write's task.
    func occupyWriter(_ hold: StoreHold) async -> Task<Int64?, Never> {
        let gate = Task { [receiver, now] in
            try? await receiver!.commits.appendAudit(
                AuditEntry(time: now, source: "test", transport: "tcp", zone: nil, signer: nil, keyTag: nil, request: "", decision: "NOERROR", reason: "gate"))
        }
        await waitUntil { receiver.commits.progress == (0, true) }
        return gate
    }

    func testTwoIdenticalSignedUpdatesInOneGroupCommitAreAcceptedOnce() async throws {
        // The trust store lookup is cached for the second: the held store is not read below.
        let warm = try await send(signed([.add(try Record("example.example. 60 IN NS ns.provider3.net."))], at: now - 1))
        XCTAssertEqual(warm.rcode, .noError, warm.edns?.extendedError?.extraText ?? "")
        let bytes = try signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))])
        let hold = StoreHold(store)
        let gate = await occupyWriter(hold)
        let (receiver, tcp) = (self.receiver!, self.tcp)
        async let first = receiver.handle(bytes, context: tcp)
        async let second = receiver.handle(bytes, context: tcp)
        // Both admissions wait together; the writer takes every pending write at once.
        await waitUntil { receiver.commits.progress.pending == 2 }
        hold.release()
        let replies = try await [first, second].map { try Message(wire: XCTUnwrap($0)) }
        _ = await gate.value
        XCTAssertEqual(replies.filter { $0.rcode == .noError }.count, 1, replies.map { "\($0.rcode) \($0.edns?.extendedError?.extraText ?? "")" }.description)
        let refused = try XCTUnwrap(replies.first { $0.rcode != .noError })
        XCTAssertEqual(refused.rcode, .refused)
        XCTAssertTrue(refused.edns?.extendedError?.extraText.contains("replayed") == true, refused.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(parent.appliedCount, 2, "the warm-up and one of the two")
        XCTAssertEqual(try store.audit(child: child, limit: 10).filter { $0.reason.contains("replayed") }.count, 1)
    }

    /// A batch whose transaction fails: every request in it gets SERVFAIL, nothing of it is kept
    /// (the same request is admitted once the store works again), the parent is unchanged.
    func testAFailedGroupCommitAcknowledgesNoRequestOfTheBatch() async throws {
        let warm = try await send(signed([.add(try Record("example.example. 60 IN NS ns.provider3.net."))], at: now - 1))
        XCTAssertEqual(warm.rcode, .noError)
        let before = parent.snapshot(child)
        try store.write("install a failing trigger") { db in
            try db.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON seen_signatures WHEN NEW.expires_at = 1 BEGIN SELECT RAISE(ABORT, 'boom'); END")
        }
        let bytes = try signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))])
        let hold = StoreHold(store)
        let gate = await occupyWriter(hold)
        // One admission that works and one the trigger refuses, in the same batch.
        let poisoned = Admission(
            key: KeyIdentity(zone: zoneName, child: child, rdata: key.keyData.rdata), inception: UInt32(now) + 1000, signatureDigest: [9], expiresAt: 1,
            budget: nil)
        let (receiver, tcp) = (self.receiver!, self.tcp)
        async let request = receiver.handle(bytes, context: tcp)
        let now = self.now
        async let other: Admission.Verdict? = try? receiver.commits.admit(poisoned, now: now)
        await waitUntil { receiver.commits.progress.pending == 2 }
        hold.release()
        let answer = await request
        let reply = try Message(wire: XCTUnwrap(answer))
        let otherVerdict = await other
        _ = await gate.value
        XCTAssertNil(otherVerdict)
        XCTAssertEqual(reply.rcode, .servFail, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertTrue(reply.edns?.extendedError?.extraText.contains("replay state could not be checked") == true, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(parent.snapshot(child), before)
        try store.write("remove the trigger") { db in try db.execute(sql: "DROP TRIGGER refuse") }
        let again = try await send(bytes)
        XCTAssertEqual(again.rcode, .noError, "the failed batch kept no replay state: \(again.edns?.extendedError?.extraText ?? "")")
    }

    /// A decision whose audit row cannot be written is not sent: SERVFAIL says why.
    func testADecisionTheAuditLogCannotHoldIsNotAcknowledged() async throws {
        try store.write("install a failing trigger") { db in
            try db.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        }
        let reply = try await send(signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))]))
        XCTAssertEqual(reply.rcode, .servFail)
        XCTAssertTrue(
            reply.edns?.extendedError?.extraText.contains("could not be written to the audit log") == true, reply.edns?.extendedError?.extraText ?? "")
        let refusal = try await send(signed([.add(try Record("example.example. 60 IN A 192.0.2.99"))], zone: "example."))
        XCTAssertEqual(refusal.rcode, .servFail, "a refusal is not acknowledged either")
    }
}
