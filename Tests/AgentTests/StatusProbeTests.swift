import Agent
import DNSWire
import Logging
import Store
import Transport
import XCTest

/// `delegsync status` asks the agent to prove that it serves the store (issue 12: "up" only
/// when the answer provably comes from this agent); the question is answered, not audited.
final class StatusProbeTests: XCTestCase {
    let tcp = DNSRequestContext(sourceAddress: "127.0.0.1", sourcePort: 40000, transport: .tcp)
    var store: SQLiteStore!
    var receiver: UpdateReceiver!

    override func setUpWithError() throws {
        let configuration = try AgentConfiguration.parse(
            "version: 1\nzones: [{ name: example., primary: { address: 127.0.0.1 }, backend: { type: script, output: \"-\" } }]\n")
        store = try SQLiteStore.inMemory()
        let parent = FakeParent([])
        receiver = UpdateReceiver(
            configuration: configuration, store: store, backends: [try DomainName("example."): parent], reader: parent,
            contentProbe: ChildContentProbe(exchange: { _, _, _, _ in throw CancellationError() }),
            clock: { 1_800_000_000 }, logger: Logger(label: "test"), statusSecret: try store.statusSecret())
    }

    func question(_ nonce: UInt8 = 1) throws -> Message {
        try StatusProbe.query(id: 4711, nonce: [UInt8](repeating: nonce, count: 16))
    }

    func testTheAgentProvesItServesItsStoreAndIsNotAudited() async throws {
        let query = try question()
        let answered = await receiver.handle(try query.wireFormat(), context: tcp)
        let reply = try XCTUnwrap(answered)
        XCTAssertEqual(StatusProbe.verdict(reply: reply, to: query, secret: try store.statusSecret()), .thisAgent(version: AgentVersion.current))
        XCTAssertTrue(try Message(wire: reply).header.aa)
        XCTAssertEqual(try store.audit(child: nil, limit: 10).count, 0, "a status question is not audited")

        // Another store's secret: a delegsync agent, but not this store's.
        let other = try SQLiteStore.inMemory().statusSecret()
        XCTAssertNotEqual(other, try store.statusSecret())
        XCTAssertEqual(StatusProbe.verdict(reply: reply, to: query, secret: other), .otherAgent(version: AgentVersion.current))
        XCTAssertEqual(StatusProbe.verdict(reply: reply, to: query, secret: nil), .otherAgent(version: AgentVersion.current))

        // An answer to another nonce proves nothing about this one, even with the same ID.
        let later = try question(2)
        guard case .somethingElse = StatusProbe.verdict(reply: reply, to: later, secret: try store.statusSecret()) else {
            return XCTFail("a replayed answer was taken")
        }
    }

    /// Anything else on the address: a refusal, an answer without the proof, bytes that are not
    /// DNS.
    func testOtherAnswersAreSomethingElse() throws {
        let query = try question()
        let secret = try store.statusSecret()
        let refused = try query.makeResponse(rcode: .refused).wireFormat()
        XCTAssertEqual(StatusProbe.verdict(reply: refused, to: query, secret: secret), .somethingElse("REFUSED to CH TXT \(query.question[0].name)"))
        var forged = query.makeResponse()
        forged.answer = [try Record("\(query.question[0].name) 0 CH TXT \"delegsync\" \"\(AgentVersion.current)\" \"\(String(repeating: "ab", count: 32))\"")]
        XCTAssertEqual(StatusProbe.verdict(reply: try forged.wireFormat(), to: query, secret: secret), .otherAgent(version: AgentVersion.current))
        var bind = query.makeResponse()
        bind.answer = [try Record("\(query.question[0].name) 0 CH TXT \"9.18.49\"")]
        guard case .somethingElse = StatusProbe.verdict(reply: try bind.wireFormat(), to: query, secret: secret) else { return XCTFail() }
        guard case .somethingElse = StatusProbe.verdict(reply: [0x12, 0x67, 0x80], to: query, secret: secret) else { return XCTFail() }
    }

    /// Only the exact question shape is a status question; others (class IN, another name, a
    /// nonce that is not hex) stay ordinary QUERYs: NOTIMP, audited.
    func testLookalikesAreOrdinaryQueries() async throws {
        let nonce = String(repeating: "0a", count: 16)
        for question in [
            Question(name: try DomainName("\(nonce).status.delegsync."), type: .txt, qclass: .in),
            Question(name: try DomainName("\(nonce).status.example."), type: .txt, qclass: .ch),
            Question(name: try DomainName("\(String(repeating: "zz", count: 16)).status.delegsync."), type: .txt, qclass: .ch),
            Question(name: try DomainName("version.bind."), type: .txt, qclass: .ch),
        ] {
            var query = Message(question: [question])
            query.id = 9
            let answered = await receiver.handle(try query.wireFormat(), context: tcp)
            let reply = try Message(wire: try XCTUnwrap(answered))
            XCTAssertEqual(reply.rcode, .notImp, "\(question)")
            XCTAssertTrue(reply.answer.isEmpty)
        }
        XCTAssertEqual(try store.audit(child: nil, limit: 10).count, 4)
    }
}
