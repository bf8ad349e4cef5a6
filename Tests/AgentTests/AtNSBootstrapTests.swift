import Agent
import DNSWire
import DelegationCore
import Foundation
import Logging
import SIG0
import Store
import TestSupport
import Transport
import XCTest

/// The `at-ns` key bootstrap through the receiver and the worker, with a fake parent, a fake
/// child server and a fake resolver serving the signal `_sig0key.child.parent._signal.ns1.provider.example.`
/// and its chain from the anchor `example.`: trusted after one round when the signal validates,
/// failed with the reason when it does not, continued as `unsigned` when there is none.
final class AtNSBootstrapTests: XCTestCase {
    let now: Int64 = 1_800_000_000
    let zoneName = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")
    let example = try! DomainName("example.")
    let provider = try! DomainName("provider.example.")
    let outside = try! DomainName("ns1.provider.example.")
    lazy var signer = ZoneSigner(inception: UInt32(now - 86400), expiration: UInt32(now + 30 * 86400))
    lazy var exampleKey = ZoneSigner.key(example)
    lazy var providerKey = ZoneSigner.key(provider)

    enum Signal {
        case valid, signedByStranger, none
    }

    func run(signal: Signal, methods: String = "[at-ns, manual]") async throws -> (Message, SQLiteStore, BINDKeyFile, BootstrapWorker) {
        let anchorFile = FileManager.default.temporaryDirectory.appendingPathComponent("at-ns-anchor-\(UUID().uuidString)")
        try "\(exampleKey.dsRecord())\n".write(to: anchorFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: anchorFile) }
        let configuration = try AgentConfiguration.parse(
            """
            version: 1
            zones:
              - name: parent.
                primary: { address: 127.0.0.1 }
                backend: { type: script, output: "-" }
                bootstrap: { methods: \(methods), publish-key: false, resolver: { address: 127.0.0.53 } }
                scanner: { trust-anchor-file: \(anchorFile.path) }
            """)
        let newKey = try BINDKeyFile.generate(owner: child)
        let parent = FakeParent([
            try DelegationSnapshot(
                child: child,
                records: [
                    try Record("child.parent. 3600 IN NS ns1.child.parent."), try Record("child.parent. 3600 IN NS ns1.provider.example."),
                    try Record("ns1.child.parent. 3600 IN A 127.0.0.11"),
                ])
        ])
        let servers = FakeChildServers(zone: child)
        let apex = [
            try Record("child.parent. 60 IN SOA ns1.child.parent. hostmaster.child.parent. 1 3600 900 604800 60"),
            try Record("child.parent. 60 IN NS ns1.child.parent."), try Record("child.parent. 60 IN NS ns1.provider.example."),
            Record(name: child, type: .key, ttl: 60, rdata: newKey.keyData.rdata),
        ]
        servers.serve(["127.0.0.11", "127.0.0.12"], apex)
        var resolved = [try Record("ns1.provider.example. 60 IN A 127.0.0.12")]
        resolved += signer.signed([exampleKey.record, providerKey.dsRecord()], with: [exampleKey])
        resolved += signer.signed([providerKey.record], with: [providerKey])
        let name = Signaling.name(.sig0key, child: child, nameserver: outside)!
        let key = Record(name: name, type: .key, ttl: 60, rdata: newKey.keyData.rdata)
        switch signal {
        case .valid: resolved += signer.signed([key], with: [providerKey])
        case .signedByStranger: resolved += signer.signed([key], with: [ZoneSigner.key(provider)])
        case .none: break
        }
        for owner in Set(resolved.map(\.name)) { servers.resolve(owner, resolved.filter { $0.name == owner }) }
        let (reply, store, worker) = try await selfSignedUpload(newKey, configuration: configuration, parent: parent, servers: servers, now: now)
        return (reply, store, newKey, worker)
    }

    func testValidatedSignalTrustsTheKeyAfterOneRound() async throws {
        let (reply, store, newKey, worker) = try await run(signal: .valid)
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.keyState()?.extraText ?? "")
        XCTAssertTrue(reply.edns?.keyState()?.extraText.contains("_sig0key.child.parent._signal.<ns>") == true, "\(String(describing: reply.edns))")
        XCTAssertEqual(try store.bootstraps(child: child, activeOnly: true).first?.method, .atNS)
        let promoted = await worker.runOnce(now: now)
        XCTAssertEqual(promoted, 1)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: newKey.keyData.rdata))?.state, .trusted)
    }

    /// A zone that offers at-ns alone still accepts uploads (the check that any method is offered
    /// must not take at-ns for one that never fits).
    func testAtNSAloneAcceptsTheUpload() async throws {
        let (reply, store, _, worker) = try await run(signal: .valid, methods: "[at-ns]")
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        let promoted = await worker.runOnce(now: now)
        XCTAssertEqual(promoted, 1)
        XCTAssertEqual(try store.bootstraps(child: child, activeOnly: false).first?.method, .atNS)
    }

    func testBogusSignalFailsTheJobWithTheReason() async throws {
        let (_, store, newKey, worker) = try await run(signal: .signedByStranger)
        let promoted = await worker.runOnce(now: now)
        XCTAssertEqual(promoted, 0)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: newKey.keyData.rdata))?.state, .known)
        guard case .failed(let reason) = try XCTUnwrap(store.bootstraps(child: child, activeOnly: false).first).state else { return XCTFail() }
        XCTAssertTrue(reason.contains("at-ns: _sig0key.child.parent._signal.ns1.provider.example. KEY does not validate"), reason)
    }

    func testNoSignalContinuesAsUnsignedWhereOffered() async throws {
        let (_, store, _, worker) = try await run(signal: .none, methods: "[at-ns, unsigned]")
        let promoted = await worker.runOnce(now: now)
        XCTAssertEqual(promoted, 0)
        let job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: true).first)
        XCTAssertEqual(job.method, .unsigned)
        XCTAssertEqual(job.rounds.map(\.failure), [nil])
        XCTAssertEqual(job.state, .verifying(round: 2, nextAt: now + 300))

        let (_, failedStore, _, failedWorker) = try await run(signal: .none)
        let failedPromoted = await failedWorker.runOnce(now: now)
        XCTAssertEqual(failedPromoted, 0)
        guard case .failed(let reason) = try XCTUnwrap(failedStore.bootstraps(child: child, activeOnly: false).first).state else { return XCTFail() }
        XCTAssertTrue(reason.contains("at-ns: no RFC 9615 signal under any NS"), reason)
    }
}
