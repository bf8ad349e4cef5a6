import Agent
import DNSWire
import DelegationCore
import Logging
import SIG0
import Store
import TestSupport
import Transport
import XCTest

/// The `at-apex` key bootstrap through the receiver and the worker, with a fake parent and fake
/// child servers: a signed child's uploaded KEY, validated at its apex under the parent's DS,
/// is trusted after one round; an unsigned child is refused where only at-apex is offered.
final class AtApexBootstrapTests: XCTestCase {
    let now: Int64 = 1_800_000_000
    let zoneName = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")
    lazy var signer = ZoneSigner(inception: UInt32(now - 86400), expiration: UInt32(now + 30 * 86400))
    let ksk = ZoneSigner.key(try! DomainName("child.parent."))
    let zsk = ZoneSigner.key(try! DomainName("child.parent."), flags: 256)

    func run(signedAtParent: Bool, keySigner: ZoneSigner.Key? = nil, methods: String = "[at-apex, manual]") async throws -> (
        Message, SQLiteStore, BINDKeyFile, BootstrapWorker
    ) {
        let configuration = try AgentConfiguration.parse(
            """
            version: 1
            zones:
              - name: parent.
                primary: { address: 127.0.0.1 }
                backend: { type: script, output: "-" }
                bootstrap: { methods: \(methods), publish-key: false }
            """)
        let newKey = try BINDKeyFile.generate(owner: child)
        var delegation = [
            try Record("child.parent. 3600 IN NS ns1.child.parent."), try Record("ns1.child.parent. 3600 IN A 127.0.0.11"),
        ]
        if signedAtParent { delegation.append(ksk.dsRecord()) }
        let parent = FakeParent([try DelegationSnapshot(child: child, records: delegation)])
        let servers = FakeChildServers(zone: child)
        let apex = [
            try Record("child.parent. 60 IN SOA ns1.child.parent. hostmaster.child.parent. 1 3600 900 604800 60"),
            try Record("child.parent. 60 IN NS ns1.child.parent."), try Record("ns1.child.parent. 60 IN A 127.0.0.11"),
        ]
        let key = Record(name: child, type: .key, ttl: 60, rdata: newKey.keyData.rdata)
        servers.serve(
            "127.0.0.11",
            signer.signed(apex, with: [zsk]) + signer.signed([key], with: [keySigner ?? zsk]) + signer.signed([ksk.record, zsk.record], with: [ksk]))
        let (reply, store, worker) = try await selfSignedUpload(newKey, configuration: configuration, parent: parent, servers: servers, now: now)
        return (reply, store, newKey, worker)
    }

    func testSignedChildsKeyIsTrustedAfterOneValidatedRound() async throws {
        let (reply, store, newKey, worker) = try await run(signedAtParent: true)
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.keyState()?.extraText ?? "")
        XCTAssertTrue(reply.edns?.keyState()?.extraText.contains("validated under its DS") == true, "\(String(describing: reply.edns))")
        XCTAssertEqual(try store.bootstraps(child: child, activeOnly: true).first?.method, .atApex)
        let promoted = await worker.runOnce(now: now)
        XCTAssertEqual(promoted, 1)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: newKey.keyData.rdata))?.state, .trusted)
    }

    func testKeyRRsetSignedByAnotherKeyFails() async throws {
        let (_, store, newKey, worker) = try await run(signedAtParent: true, keySigner: ZoneSigner.key(child, flags: 256))
        let promoted = await worker.runOnce(now: now)
        XCTAssertEqual(promoted, 0)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: newKey.keyData.rdata))?.state, .known)
        guard case .failed(let reason) = try XCTUnwrap(store.bootstraps(child: child, activeOnly: false).first).state else { return XCTFail() }
        XCTAssertTrue(reason.contains("does not validate"), reason)
    }

    /// An unsigned child cannot use at-apex: the next method offered, or a refusal naming why.
    func testUnsignedChildGetsAnotherMethodOrARefusal() async throws {
        let (reply, store, _, _) = try await run(signedAtParent: false)
        XCTAssertEqual(reply.rcode, .noError)
        XCTAssertEqual(try store.bootstraps(child: child, activeOnly: true).first?.method, .manual)
        let (refused, refusedStore, _, _) = try await run(signedAtParent: false, methods: "[at-apex]")
        XCTAssertEqual(refused.rcode, .refused)
        XCTAssertEqual(refused.edns?.extendedError?.infoCode, DelegationEDE.manualBootstrapRequired)
        XCTAssertTrue(refused.edns?.extendedError?.extraText.contains("no DS at the parent") == true, "\(String(describing: refused.edns))")
        XCTAssertEqual(try refusedStore.bootstraps(child: child, activeOnly: false), [])
    }
}
