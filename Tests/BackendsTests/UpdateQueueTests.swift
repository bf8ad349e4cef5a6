import Backends
import DNSWire
import NIOConcurrencyHelpers
import XCTest

/// The batching semantics without a server: a scripted primary that refuses any message holding
/// a given child's change, and records what it was sent.
final class UpdateQueueTests: XCTestCase {
    static let zone = try! DomainName("parent.")

    static func change(_ label: String) -> Update {
        var update = Update(zone: zone)
        update.add(try! Record("\(label).parent. 3600 IN NS ns1.\(label).parent."))
        return update
    }

    /// A primary that answers NXRRSET to any message naming `culprit`, after `delay`.
    final class ScriptedPrimary: Sendable {
        let culprit: DomainName?
        let messages = NIOLockedValueBox<[Update]>([])
        init(culprit: String?) { self.culprit = culprit.map { try! DomainName("\($0).parent.") } }
        var send: UpdateQueue.Send {
            { [self] update in
                try await Task.sleep(for: .milliseconds(20))
                messages.withLockedValue { $0.append(update) }
                if let culprit, update.operations.contains(where: { $0.name == culprit }) {
                    throw BackendError("the primary answered NXRRSET", permanent: true)
                }
            }
        }
    }

    static func submitAll(_ labels: [String], to queue: UpdateQueue, primary: ScriptedPrimary) async -> [String: String?] {
        await withTaskGroup(of: (String, String?).self) { group in
            for label in labels {
                group.addTask {
                    do {
                        try await queue.submit(change(label), send: primary.send)
                        return (label, nil)
                    } catch {
                        return (label, "\(error)")
                    }
                }
            }
            var results: [String: String?] = [:]
            for await (label, result) in group { results[label] = result }
            return results
        }
    }

    func testAFailingChangeIsFoundAndTheOthersConfirmed() async {
        let labels = (1...12).map { "c\($0)" }
        let primary = ScriptedPrimary(culprit: "c7")
        let queue = UpdateQueue()
        let results = await Self.submitAll(labels, to: queue, primary: primary)
        for label in labels where label != "c7" { XCTAssertEqual(results[label], .some(nil), label) }
        XCTAssertEqual(results["c7"], .some("the primary answered NXRRSET"))
        let messages = primary.messages.withLockedValue { $0 }
        // Some message held several changes; the culprit's own UPDATE was tried alone.
        XCTAssertTrue(messages.contains { $0.operations.count > 1 })
        XCTAssertTrue(messages.contains { $0.operations.map(\.name) == [try! DomainName("c7.parent.")] })
        // Every other change was in a message the primary accepted.
        let accepted = messages.filter { !$0.operations.contains { $0.name == (try! DomainName("c7.parent.")) } }
        XCTAssertEqual(Set(accepted.flatMap(\.operations).map(\.name)), Set(labels.filter { $0 != "c7" }.map { try! DomainName("\($0).parent.") }))
    }

    func testAllConfirmedWhenNothingFails() async {
        let labels = (1...30).map { "c\($0)" }
        let primary = ScriptedPrimary(culprit: nil)
        let queue = UpdateQueue()
        let results = await Self.submitAll(labels, to: queue, primary: primary)
        XCTAssertEqual(results.values.compactMap { $0 }, [])
        let sent = await queue.messagesSent
        XCTAssertLessThan(sent, labels.count)
        XCTAssertEqual(primary.messages.withLockedValue { $0.flatMap(\.operations).count }, labels.count)
    }

    /// Changes naming the same owner never share a message: RFC 2136 §3.2 would check the second
    /// one's prerequisites before the first one's updates.
    func testBatchStopsAtASharedName() {
        var second = Self.change("a")
        second.requireRRsetExists(try! DomainName("a.parent."), .ds)
        XCTAssertEqual(UpdateBatch.batchSize(of: [Self.change("a"), Self.change("b"), second, Self.change("c")]), 2)
        XCTAssertEqual(UpdateBatch.batchSize(of: [Self.change("a"), Self.change("b"), Self.change("c")]), 3)
        XCTAssertEqual(UpdateBatch.batchSize(of: [Self.change("a"), Self.change("b")], limits: UpdateBatch.Limits(changes: 1)), 1)
        XCTAssertEqual(UpdateBatch.batchSize(of: [Self.change("a"), Self.change("b")], limits: UpdateBatch.Limits(octets: 10)), 1)
        let merged = UpdateBatch.merged([second, Self.change("b")])
        XCTAssertEqual(merged.prerequisites, second.prerequisites)
        XCTAssertEqual(merged.operations, second.operations + Self.change("b").operations)
    }
}
