import Agent
import DNSWire
import DelegationCore
import Logging
import SIG0
import Store
import Transport
import XCTest

/// The receiver's pipeline against a fake parent, with fixed time: every path of the issue's
/// list gives its RCODE and EDE, changes nothing when refused, and is audited.
final class UpdateReceiverTests: XCTestCase {
    let now: Int64 = 1_800_000_000
    let zoneName = try! DomainName("example.")
    let child = try! DomainName("example.example.")
    var parent: FakeParent!
    var store: SQLiteStore!
    var receiver: UpdateReceiver!
    var key: BINDKeyFile!
    var signer: SIG0Signer!
    var configuration: AgentConfiguration!
    let tcp = DNSRequestContext(sourceAddress: "127.0.0.1", sourcePort: 40000, transport: .tcp)
    /// The child's nameservers, answering like real ones (the content checks ask them).
    var servers: FakeChildServers!
    var probe: ChildContentProbe { ChildContentProbe(exchange: servers.exchange) }
    /// The child's KSK (random key bytes: its DS is a digest, it needs no usable key).
    let ksk = try! Record("example.example. 60 IN DNSKEY 257 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")

    var initial: DelegationSnapshot {
        try! DelegationSnapshot(
            child: child,
            records: [
                try! Record("example.example. 3600 IN NS ns1.example.example."),
                try! Record("example.example. 3600 IN NS ns.provider.net."),
                try! Record("ns1.example.example. 3600 IN A 192.0.2.1"),
            ])
    }

    override func setUpWithError() throws {
        configuration = try AgentConfiguration.parse(
            """
            version: 1
            store: { path: /nonexistent }
            zones:
              - name: example.
                primary: { address: 127.0.0.1, port: 53 }
                ttl: 7200
                backend: { type: script, output: "-" }
                bootstrap: { resolver: { address: 127.0.0.53 } }
            """)
        parent = FakeParent([initial, DelegationSnapshot(child: try DomainName("other.example."), nameservers: [try DomainName("ns.other.net.")])])
        store = try SQLiteStore.inMemory()
        key = try BINDKeyFile.generate(owner: child)
        signer = try SIG0Signer(keyFile: key)
        try store.putKey(
            StoredKey(
                zone: zoneName, child: child, keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .trusted, addedAt: now, origin: "import"))
        // Every nameserver named in these tests serves the child (addresses are only names here:
        // the fake exchange answers, nothing goes on the network).
        servers = FakeChildServers(zone: child)
        let zone = [
            try Record("example.example. 60 IN SOA ns1.example.example. hostmaster.example.example. 1 3600 900 604800 60"),
            try Record("example.example. 60 IN NS ns1.example.example."), ksk,
        ]
        servers.serve(["192.0.2.1", "2001:db8::2"] + (1...9).map { "198.51.100.\($0)" }, zone)
        let names = ["ns.provider.net.", "ns.provider2.net.", "ns.provider3.net.", "ns.provider4.net."] + (0..<5).map { "ns\($0).provider.net." }
        for (index, name) in names.enumerated() {
            servers.resolve(try DomainName(name), [try Record("\(name) 60 IN A 198.51.100.\(index + 1)")])
        }
        let clock: @Sendable () -> Int64 = { [now] in now }
        receiver = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: clock,
            logger: Logger(label: "test"))
    }

    func update(_ operations: [Update.Operation], zone: String = "example.", id: UInt16 = 1, edns: Bool = true) throws -> [UInt8] {
        try Update(zone: DomainName(zone), operations: operations).message(id: id, edns: edns ? EDNS() : nil).wireFormat()
    }

    func send(_ bytes: [UInt8], context: DNSRequestContext? = nil) async throws -> Message {
        let reply = await receiver.handle(bytes, context: context ?? tcp)
        return try Message(wire: XCTUnwrap(reply))
    }

    func signed(_ operations: [Update.Operation], at time: Int64? = nil, zone: String = "example.") throws -> [UInt8] {
        try signer.sign(update(operations, zone: zone), now: UInt32(time ?? now))
    }

    func assertRefused(_ bytes: [UInt8], rcode: RCode, infoCode: UInt16?, reasonContains: String, file: StaticString = #filePath, line: UInt = #line)
        async throws
    {
        let before = parent.snapshot(child)
        let auditBefore = try store.audit(child: nil, limit: 1000).count
        let reply = try await send(bytes)
        XCTAssertEqual(reply.rcode, rcode, reply.edns?.extendedError?.extraText ?? "", file: file, line: line)
        if let infoCode {
            XCTAssertEqual(reply.edns?.extendedError?.infoCode, infoCode, file: file, line: line)
            XCTAssertTrue(
                reply.edns?.extendedError?.extraText.contains(reasonContains) == true, reply.edns?.extendedError?.extraText ?? "no EDE", file: file, line: line)
        }
        XCTAssertEqual(parent.snapshot(child), before, "the parent changed", file: file, line: line)
        let audit = try store.audit(child: nil, limit: 1000)
        XCTAssertEqual(audit.count, auditBefore + 1, file: file, line: line)
        XCTAssertTrue(audit.first?.reason.contains(reasonContains) == true, audit.first?.reason ?? "", file: file, line: line)
    }

    // MARK: Accepted

    func testSignedNSAndGlueChangeIsCommitted() async throws {
        let reply = try await send(
            signed([
                .deleteRRset(child, .ns),
                .add(try Record("example.example. 60 IN NS ns2.example.example.")),
                .add(try Record("example.example. 60 IN NS ns.provider.net.")),
                .add(try Record("ns2.example.example. 60 IN AAAA 2001:db8::2")),
                .add(Record(name: child, type: .ds, ttl: 60, rdata: try DSData(sha256OfDNSKEY: ksk.rdata, owner: child).rdata)),
            ]))
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertNil(reply.edns?.extendedError)
        XCTAssertTrue(reply.header.qr)
        XCTAssertEqual(reply.zone.first?.name, zoneName)
        let after = try XCTUnwrap(parent.snapshot(child))
        XCTAssertEqual(after.nameservers, [try DomainName("ns2.example.example."), try DomainName("ns.provider.net.")])
        XCTAssertEqual(after.ds.count, 1)
        XCTAssertEqual(try store.pendingCount(), 0)
        XCTAssertEqual(try store.audit(child: child, limit: 1).first?.decision, "NOERROR")
    }

    func testSameChangeTwiceIsNoErrorWithoutAnotherApply() async throws {
        let ops: [Update.Operation] = [.add(try Record("example.example. 60 IN NS ns.provider2.net."))]
        let first = try await send(signed(ops, at: now - 1))
        XCTAssertEqual(first.rcode, .noError)
        XCTAssertEqual(parent.appliedCount, 1)
        let second = try await send(signed(ops))
        XCTAssertEqual(second.rcode, .noError)
        XCTAssertEqual(parent.appliedCount, 1)
    }

    // MARK: Refused: the list

    func testPolicyRejections() async throws {
        try await assertRefused(
            signed([.add(try Record("ample.example. 60 IN NS ns.evil.net."))]), rcode: .refused, infoCode: 18, reasonContains: "outside-child")
        try await assertRefused(signed([.deleteRRset(try DomainName("other.example."), .ns)]), rcode: .refused, infoCode: 18, reasonContains: "outside-child")
        try await assertRefused(signed([.add(try Record("example. 60 IN NS ns.evil.net."))]), rcode: .refused, infoCode: 18, reasonContains: "parent-apex")
        try await assertRefused(
            signed([.add(try Record("example.example. 60 IN TXT \"x\""))]), rcode: .refused, infoCode: 18, reasonContains: "type-not-allowed")
        try await assertRefused(
            signed([.add(try Record("ns.provider.net. 60 IN A 192.0.2.9"))]), rcode: .refused, infoCode: 18, reasonContains: "glue-out-of-bailiwick")
        try await assertRefused(
            signed([.add(try Record("www.example.example. 60 IN A 192.0.2.9"))]), rcode: .refused, infoCode: 18, reasonContains: "glue-unused")
        try await assertRefused(signed([.deleteRRset(child, .ns)]), rcode: .refused, infoCode: 18, reasonContains: "ns-empty")
    }

    func testUnknownKeyIsBADKEY() async throws {
        let stranger = try SIG0Signer(keyFile: BINDKeyFile.generate(owner: child))
        let bytes = try stranger.sign(update([.add(try Record("example.example. 60 IN NS ns.x.net."))]), now: UInt32(now))
        try await assertRefused(bytes, rcode: .badKey, infoCode: 18, reasonContains: "no trusted key")
        // Without OPT the extended RCODE cannot be sent: REFUSED, no EDE.
        let bare = try stranger.sign(update([.add(try Record("example.example. 60 IN NS ns.x.net."))], edns: false), now: UInt32(now))
        try await assertRefused(bare, rcode: .refused, infoCode: nil, reasonContains: "sent as REFUSED")
    }

    func testBadAndExpiredSignatures() async throws {
        var tampered = try signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))])
        tampered[tampered.count - 3] ^= 1
        try await assertRefused(tampered, rcode: .badSig, infoCode: 18, reasonContains: "badSignature")
        try await assertRefused(
            signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))], at: now - 4000), rcode: .badTime, infoCode: 18, reasonContains: "expired")
    }

    func testTwoSIGsUnsignedTSIGAndWrongZone() async throws {
        let once = try signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))])
        let sigRecord = Array(once[try SIG0Signature(message: once).recordStart...])
        var twice = once + sigRecord
        twice[11] += 1
        try await assertRefused(twice, rcode: .formErr, infoCode: 24, reasonContains: "multipleSignatures")
        try await assertRefused(
            update([.add(try Record("example.example. 60 IN NS ns.provider2.net."))]), rcode: .refused, infoCode: 18, reasonContains: "unsigned")
        var tsig = try update([.add(try Record("example.example. 60 IN NS ns.provider2.net."))])
        tsig += Record(name: try DomainName("key."), type: .tsig, rrClass: .any, ttl: 0, rdata: [0]).wire
        tsig[11] += 1
        try await assertRefused(tsig, rcode: .refused, infoCode: 18, reasonContains: "TSIG")
        try await assertRefused(
            signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))], zone: "example.net."), rcode: .notAuth, infoCode: 20,
            reasonContains: "not a zone this agent serves")
    }

    func testReplayIsRefused() async throws {
        let bytes = try signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))])
        let first = try await send(bytes)
        XCTAssertEqual(first.rcode, .noError)
        try await assertRefused(bytes, rcode: .refused, infoCode: 18, reasonContains: "replayed")
        try await assertRefused(
            signed([.add(try Record("example.example. 60 IN NS ns.provider3.net."))], at: now - 100), rcode: .refused, infoCode: 18,
            reasonContains: "older than the last accepted")
    }

    func testNonUpdateOpcodeAndGarbage() async throws {
        var query = Message(question: [Question(name: child, type: .soa)], edns: EDNS())
        query.id = 9
        let reply = try await send(try query.wireFormat())
        XCTAssertEqual(reply.rcode, .notImp)
        XCTAssertEqual(reply.edns?.extendedError?.infoCode, 21)
        let garbage: [UInt8] = [0xAB, 0xCD, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0]
        let formerr = try await send(garbage)
        XCTAssertEqual(formerr.rcode, .formErr)
        XCTAssertEqual(formerr.id, 0xABCD)
        let none = await receiver.handle([1, 2, 3], context: tcp)
        XCTAssertNil(none)
    }

    /// With the primary down the UPDATE gets SERVFAIL; when it is back, the outbox checks the
    /// change again and applies it exactly once.
    func testOutageThenOutboxAppliesOnce() async throws {
        parent.reachable = false
        let ops: [Update.Operation] = [.add(try Record("example.example. 60 IN NS ns.provider2.net."))]
        let reply = try await send(signed(ops))
        XCTAssertEqual(reply.rcode, .servFail)
        XCTAssertEqual(reply.edns?.extendedError?.infoCode, DelegationEDE.noReachableAuthority)
        XCTAssertEqual(try store.pendingCount(), 1)
        let worker = OutboxWorker(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, logger: Logger(label: "test"))
        let stillDown = await worker.runOnce(now: now + 60)
        XCTAssertEqual(stillDown, 0)
        parent.reachable = true
        let early = await worker.runOnce(now: now + 61)
        XCTAssertEqual(early, 0, "not due yet: backoff")
        let due = await worker.runOnce(now: now + 600)
        XCTAssertEqual(due, 1)
        let again = await worker.runOnce(now: now + 7200)
        XCTAssertEqual(again, 0)
        XCTAssertEqual(parent.appliedCount, 1)
        let after = try XCTUnwrap(parent.snapshot(child))
        XCTAssertTrue(after.nameservers.contains(try DomainName("ns.provider2.net.")))
        XCTAssertEqual(try store.pendingCount(), 0)
    }

    /// A backend failure after a successful read: SERVFAIL, kept, applied later once.
    func testBackendFailureIsRetried() async throws {
        let failing = FailingBackend()
        let clock: @Sendable () -> Int64 = { [now] in now }
        let flaky = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: failing], reader: parent, contentProbe: probe, clock: clock,
            logger: Logger(label: "test"))
        let reply = await flaky.handle(try signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))]), context: tcp)
        let message = try Message(wire: XCTUnwrap(reply))
        XCTAssertEqual(message.rcode, .servFail)
        XCTAssertEqual(message.edns?.extendedError?.infoCode, DelegationEDE.networkError)
        XCTAssertEqual(try store.pendingCount(), 1)
        let worker = OutboxWorker(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, logger: Logger(label: "test"))
        let applied = await worker.runOnce(now: now + 3600)
        XCTAssertEqual(applied, 1)
        XCTAssertEqual(parent.appliedCount, 1)
    }

    /// A stored change that the parent's data no longer allows is given up, not applied.
    func testDeferredChangeIsCheckedAgain() async throws {
        parent.reachable = false
        _ = try await send(signed([.delete(try Record("example.example. 0 IN NS ns.provider.net."))]))
        parent.reachable = true
        // Meanwhile the operator removed ns1: deleting ns.provider.net would now empty the NS set.
        try await parent.apply(Update(zone: zoneName, operations: [.delete(try Record("example.example. 0 IN NS ns1.example.example."))]))
        let worker = OutboxWorker(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, logger: Logger(label: "test"))
        let applied = await worker.runOnce(now: now + 3600)
        XCTAssertEqual(applied, 0)
        XCTAssertEqual(try store.pendingCount(), 0)
        XCTAssertEqual(parent.snapshot(child)?.nameservers, [try DomainName("ns.provider.net.")])
    }
}

/// A backend that fails every time (the primary refuses connections).
struct FailingBackend: DelegationBackend {
    var description: String { "failing backend" }
    func apply(_ update: Update) async throws { throw BackendError("connection refused") }
}

import Backends
