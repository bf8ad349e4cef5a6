import Agent
import DNSWire
import DelegationCore
import Logging
import SIG0
import Store
import Transport
import XCTest

/// The attacks of DESIGN.md's "trusted but hostile child" / "stolen child key" lines that the
/// content checks stop, through the whole receiver with a fake parent and fake child servers:
/// a DS that matches no DNSKEY of the child, an NS whose server does not serve the child, and
/// the last DS removed while the child still serves DNSKEYs. Each is refused with its rule in
/// the EDE text, the parent is unchanged and nothing waits in the outbox. The same checks run
/// again before a deferred apply from the outbox.
final class ContentCheckReceiverTests: XCTestCase {
    let now: Int64 = 1_800_000_000
    let zoneName = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")
    let ns1 = "127.0.0.11", ns2 = "127.0.0.12"
    var parent: FakeParent!
    var servers: FakeChildServers!
    var store: SQLiteStore!
    var signer: SIG0Signer!
    var configuration: AgentConfiguration!
    let tcp = DNSRequestContext(sourceAddress: "127.0.0.1", sourcePort: 40000, transport: .tcp)

    /// The child's KSK and ZSK (random key bytes: a DS is a digest, it needs no usable key).
    let ksk = try! Record("child.parent. 3600 IN DNSKEY 257 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")
    let zsk = try! Record("child.parent. 3600 IN DNSKEY 256 3 15 iCOCehcukPgOWGC8317/Slr+56ot2pjiP7S6wF3DOH0=")
    /// A key the child does not serve at all.
    let stranger = try! Record("child.parent. 3600 IN DNSKEY 257 3 15 rvyfuqsrI5hkNJSc5OPChO57oawPkph6dNV59TspxeA=")

    func ds(of key: Record) throws -> Record {
        Record(name: child, type: .ds, ttl: 3600, rdata: try DSData(sha256OfDNSKEY: key.rdata, owner: child).rdata)
    }

    /// The child zone as its servers hold it (unsigned apart from `extra`).
    func childZone(_ extra: [Record] = []) throws -> [Record] {
        [
            try Record("child.parent. 60 IN SOA ns1.child.parent. hostmaster.child.parent. 1 3600 900 604800 60"),
            try Record("child.parent. 60 IN NS ns1.child.parent."), try Record("child.parent. 60 IN NS ns2.child.parent."),
            try Record("ns1.child.parent. 60 IN A \(ns1)"), try Record("ns2.child.parent. 60 IN A \(ns2)"),
        ] + extra
    }

    func delegation(ds: [Record] = []) throws -> DelegationSnapshot {
        try DelegationSnapshot(
            child: child,
            records: [
                try Record("child.parent. 3600 IN NS ns1.child.parent."), try Record("child.parent. 3600 IN NS ns2.child.parent."),
                try Record("ns1.child.parent. 3600 IN A \(ns1)"), try Record("ns2.child.parent. 3600 IN A \(ns2)"),
            ] + ds)
    }

    /// The parent zone's configuration with `line` added to the zone (by default, the fake
    /// resolver for nameservers outside the child).
    func configure(_ line: String = "bootstrap: { resolver: { address: 127.0.0.53 } }") throws {
        configuration = try AgentConfiguration.parse(
            """
            version: 1
            zones:
              - name: parent.
                primary: { address: 127.0.0.1, port: 53 }
                backend: { type: script, output: "-" }
                \(line)
            """)
    }

    override func setUpWithError() throws {
        try configure()
        store = try SQLiteStore.inMemory()
        let key = try BINDKeyFile.generate(owner: child)
        signer = try SIG0Signer(keyFile: key)
        try store.putKey(
            StoredKey(
                zone: zoneName, child: child, keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .trusted, addedAt: now, origin: "import"))
        servers = FakeChildServers(zone: child)
        try servers.serve([ns1, ns2], childZone([ksk, zsk]))
        parent = FakeParent([try delegation()])
    }

    func receiver() -> UpdateReceiver {
        UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent,
            contentProbe: ChildContentProbe(exchange: servers.exchange),
            clock: { [now] in now }, logger: Logger(label: "test"))
    }

    func outbox() -> OutboxWorker {
        OutboxWorker(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent,
            contentProbe: ChildContentProbe(exchange: servers.exchange),
            logger: Logger(label: "test"))
    }

    var second: Int64 = 0

    /// Signs and sends; each call signs one second later (the replay guard wants newer inceptions).
    func send(_ operations: [Update.Operation]) async throws -> Message {
        second += 1
        let bytes = try signer.sign(Update(zone: zoneName, operations: operations).message(id: 1).wireFormat(), now: UInt32(now + second))
        let reply = await receiver().handle(bytes, context: tcp)
        return try Message(wire: XCTUnwrap(reply))
    }

    func assertRefused(_ operations: [Update.Operation], rule: String, mentioning detail: String, file: StaticString = #filePath, line: UInt = #line)
        async throws
    {
        let before = parent.snapshot(child)
        let reply = try await send(operations)
        let text = reply.edns?.extendedError?.extraText ?? "no EDE"
        XCTAssertEqual(reply.rcode, .refused, text, file: file, line: line)
        XCTAssertEqual(reply.edns?.extendedError?.infoCode, DelegationEDE.prohibited, text, file: file, line: line)
        XCTAssertTrue(text.hasPrefix("\(rule): "), text, file: file, line: line)
        XCTAssertTrue(text.contains(detail), "\(text) should mention \(detail)", file: file, line: line)
        XCTAssertEqual(parent.snapshot(child), before, "the parent changed", file: file, line: line)
        XCTAssertEqual(parent.appliedCount, 0, file: file, line: line)
        XCTAssertEqual(try store.pendingCount(), 0, "something was enqueued", file: file, line: line)
        XCTAssertTrue(try store.audit(child: child, limit: 1).first?.reason.contains(rule) == true, file: file, line: line)
    }

    // MARK: The attacks

    /// A trusted child (or a thief of its key) asks for a DS that matches no DNSKEY the child
    /// serves: committed, it would make the child bogus for every validating resolver.
    func testDSMatchingNoDNSKEYOfTheChildIsRefused() async throws {
        try await assertRefused([.add(try ds(of: stranger))], rule: "ds-no-matching-dnskey", mentioning: "ns1.child.parent. at \(ns1)")
    }

    /// A DS for the child's ZSK (no SEP bit) is refused too: the DS must point at a KSK.
    func testDSOfAKeyWithoutTheSEPBitIsRefused() async throws {
        try await assertRefused([.add(try ds(of: zsk))], rule: "ds-no-matching-dnskey", mentioning: "SEP")
    }

    /// An NS whose server answers for the child only with a referral (AA clear).
    func testNSWhoseServerIsNotAuthoritativeIsRefused() async throws {
        servers.serve("127.0.0.13", try childZone(), .referral)
        try await assertRefused(
            [.add(try Record("child.parent. 3600 IN NS ns3.child.parent.")), .add(try Record("ns3.child.parent. 3600 IN A 127.0.0.13"))],
            rule: "ns-not-authoritative", mentioning: "ns3.child.parent. at 127.0.0.13")
    }

    /// An out-of-bailiwick NS whose address (from the resolver) does not answer at all.
    func testOutOfBailiwickNSThatDoesNotAnswerIsRefused() async throws {
        servers.resolve(try DomainName("ns.provider.example."), [try Record("ns.provider.example. 60 IN A 127.0.0.99")])
        servers.serve("127.0.0.99", [], .silent)
        try await assertRefused(
            [.add(try Record("child.parent. 3600 IN NS ns.provider.example."))], rule: "ns-not-authoritative",
            mentioning: "ns.provider.example. at 127.0.0.99")
    }

    /// Removing the last DS while the child's servers still serve its DNSKEYs, without the
    /// RFC 8078 §4 delete signal, would turn the child insecure behind its operator's back.
    func testRemovingTheLastDSWhileTheChildIsSignedIsRefused() async throws {
        parent = FakeParent([try delegation(ds: [try ds(of: ksk)])])
        try await assertRefused([.deleteRRset(child, .ds)], rule: "ds-removal-while-signed", mentioning: "CDS 0 0 0 00")
    }

    /// The same attack waiting in the outbox (the primary was down when it came): the worker
    /// checks the child again before the deferred apply and gives the entry up.
    func testADeferredAttackIsCheckedBeforeTheApply() async throws {
        parent.reachable = false
        let reply = try await send([.add(try ds(of: stranger))])
        XCTAssertEqual(reply.rcode, .servFail)
        XCTAssertEqual(try store.pendingCount(), 1)
        parent.reachable = true
        let applied = await outbox().runOnce(now: now + 3600)
        XCTAssertEqual(applied, 0)
        XCTAssertEqual(parent.appliedCount, 0)
        XCTAssertEqual(parent.snapshot(child)?.ds, [])
        XCTAssertEqual(try store.pendingCount(), 0, "the refused entry should be given up")
    }

    // MARK: What passes, and how the servers are asked

    /// The DS of the KSK both servers serve is committed; every address was asked directly: TCP,
    /// RD=0, the DO bit, on the probe's port.
    func testDSOfTheServedKSKIsCommittedAfterAskingEveryAddress() async throws {
        let reply = try await send([.add(try ds(of: ksk))])
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(parent.snapshot(child)?.ds, [try ds(of: ksk).rdata])
        let asked = servers.asked
        XCTAssertEqual(Set(asked.map(\.host)), [ns1, ns2])
        XCTAssertEqual(Set(asked.map { "\($0.host) \($0.question.type)" }), ["\(ns1) SOA", "\(ns1) DNSKEY", "\(ns2) SOA", "\(ns2) DNSKEY"])
        XCTAssertTrue(asked.allSatisfy { $0.transport == .tcp && !$0.recursionDesired && $0.dnssecOK && $0.port == 53 && $0.question.name == child })
    }

    /// The port for the child's servers is the probe's (tests run servers on other ports).
    func testTheProbeAsksOnItsPort() async throws {
        let probe = ChildContentProbe(exchange: servers.exchange, nameserverPort: 5353)
        let violation = await probe.check(current: try delegation(), result: try delegation(ds: [try ds(of: ksk)]), zone: configuration.zones[0])
        XCTAssertNil(violation)
        XCTAssertFalse(servers.asked.isEmpty)
        XCTAssertTrue(servers.asked.allSatisfy { $0.port == 5353 })
    }

    /// An out-of-bailiwick NS gets its address from the resolver (RD=1), then is asked itself.
    func testOutOfBailiwickNSThroughTheResolver() async throws {
        let provider = try DomainName("ns.provider.example.")
        servers.resolve(provider, [try Record("ns.provider.example. 60 IN A 127.0.0.99")])
        servers.serve("127.0.0.99", try childZone())
        let reply = try await send([.add(try Record("child.parent. 3600 IN NS ns.provider.example."))])
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertTrue(parent.snapshot(child)?.nameservers.contains(provider) == true)
        XCTAssertTrue(servers.asked.contains { $0.host == "127.0.0.53" && $0.recursionDesired && $0.question.name == provider })
        XCTAssertTrue(servers.asked.contains { $0.host == "127.0.0.99" && !$0.recursionDesired && $0.question.type == .soa })
    }

    /// Without a resolver an out-of-bailiwick NS has no address: refused, saying so.
    func testOutOfBailiwickNSWithoutResolverIsRefused() async throws {
        try configure("")
        try await assertRefused(
            [.add(try Record("child.parent. 3600 IN NS ns.provider.example."))], rule: "ns-no-address",
            mentioning: "no address known for ns.provider.example. (outside the child and no resolver configured)")
    }

    /// The last DS goes once every server publishes CDS 0 0 0 00, or when the child serves no
    /// DNSKEY any more.
    func testRemovingTheLastDSWithTheDeleteSignalOrUnsigned() async throws {
        parent = FakeParent([try delegation(ds: [try ds(of: ksk)])])
        let delete = try Record("child.parent. 60 IN CDS 0 0 0 00")
        // Only ns1 publishes it: still refused, naming ns2.
        servers.serve(ns1, try childZone([ksk, zsk, delete]))
        try await assertRefused([.deleteRRset(child, .ds)], rule: "ds-removal-while-signed", mentioning: "ns2.child.parent. at \(ns2) does not publish")
        servers.serve(ns2, try childZone([ksk, zsk, delete]))
        let reply = try await send([.deleteRRset(child, .ds)])
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(parent.snapshot(child)?.ds, [])

        parent = FakeParent([try delegation(ds: [try ds(of: ksk)])])
        try servers.serve([ns1, ns2], childZone())
        let unsigned = try await send([.deleteRRset(child, .ds)])
        XCTAssertEqual(unsigned.rcode, .noError, unsigned.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(parent.snapshot(child)?.ds, [])
    }

    /// A KEY rollover leaves NS, glue and DS alone: nobody is asked.
    func testAKeyOnlyChangeAsksNobody() async throws {
        let newKey = try BINDKeyFile.generate(owner: child)
        let reply = try await send([.add(Record(name: child, type: .key, ttl: 3600, rdata: newKey.keyData.rdata))])
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertTrue(servers.asked.isEmpty, "\(servers.asked.map(\.host))")
    }

    /// Each check can be switched off for a zone; then its attack goes through (the operator's
    /// choice), and the other checks still hold.
    func testChecksSwitchedOff() async throws {
        try configure("content-checks: { ds-matches-dnskey: false }")
        XCTAssertEqual(configuration.zones[0].contentChecks, ContentChecks(dsMatchesDNSKEY: false))
        servers.serve("127.0.0.13", try childZone(), .referral)
        try await assertRefused(
            [.add(try Record("child.parent. 3600 IN NS ns3.child.parent.")), .add(try Record("ns3.child.parent. 3600 IN A 127.0.0.13"))],
            rule: "ns-not-authoritative", mentioning: "ns3.child.parent. at 127.0.0.13")
        let reply = try await send([.add(try ds(of: stranger))])
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(parent.snapshot(child)?.ds, [try ds(of: stranger).rdata])
    }
}
