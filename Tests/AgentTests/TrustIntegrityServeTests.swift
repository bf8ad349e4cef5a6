import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store
import TestSupport
import Transport
import XCTest

/// Issue 10 against a real `delegsync serve` and a real BIND parent: the attacks that involve
/// the daemon (a restart, an upload that shares the trusted key's tag, the operator's CLI).
extension ServeIntegrationTests {
    /// A self-signed upload of `keyFile` over TCP, signed at `time`.
    func upload(_ agent: Agent, _ keyFile: BINDKeyFile, at time: UInt32) async throws -> Message {
        let child = keyFile.owner
        var update = Update(zone: try DomainName("parent."))
        update.deleteRRset(child, .key)
        update.add(keyFile.record)
        let bytes = try SIG0Signer(keyFile: keyFile).sign(update.message(id: .random(in: 0...UInt16.max), edns: EDNS()).wireFormat(), now: time)
        return try Message(wire: await DNSClient(timeout: .seconds(15)).exchange(bytes, host: "127.0.0.1", port: agent.port, transport: .tcp))
    }

    func testStrangersCannotMoveTheTrustedKey() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.130", port: 15330)
        defer { parent.stop() }
        // Not about content: the NS names added here have no servers (the content checks are
        // tested in ContentCheckIntegrationTests).
        let agent = try await Self.startAgent(
            parent: parent, port: 15430, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }", contentChecks: Self.noContentChecks)
        defer { agent.stop() }
        let genuine = try BINDKeyFile.load(path: agent.keyBase + ".private")
        let child = genuine.owner
        let now = UInt32(Date().timeIntervalSince1970)

        // Point 3: a colliding upload signed 290 s ahead used to set the replay state of tag T,
        // so the child's next UPDATE was "older than the last accepted".
        let attacker = try CollidingKey.make(owner: child, tag: genuine.keyTag, notRDATA: genuine.keyData.rdata)
        let uploaded = try await upload(agent, attacker, at: now + 290)
        XCTAssertEqual(uploaded.rcode, .noError, uploaded.edns?.extendedError?.extraText ?? "")
        let first = try await send(agent, [.add(try Record("child.parent. 60 IN NS ns.provider.net."))], at: now)
        XCTAssertEqual(first.rcode, .noError, "\(first.edns?.extendedError?.extraText ?? "")\n\(agent.logText)")

        // Point 1: the operator rejects the attacker's job by its tag (the old CLI revoked every
        // key with that tag, the trusted one included). Now the tag is ambiguous only among
        // jobs: there is one job, so it is rejected — and the trusted key stays trusted.
        let rejected = try Tool.run(Self.binary, ["keys", "reject", "--config", agent.config, "child.parent.", "--keytag", String(attacker.keyTag)])
        XCTAssertEqual(rejected.status, 0, rejected.stderr)
        let store = try SQLiteStore(path: "\(agent.directory)/state.sqlite")
        let zone = try DomainName("parent.")
        XCTAssertEqual(try store.key(KeyIdentity(zone: zone, child: child, rdata: genuine.keyData.rdata))?.state, .trusted)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zone, child: child, rdata: attacker.keyData.rdata))?.state, .revoked)
        let revokeByTag = try Tool.run(Self.binary, ["keys", "revoke", "--config", agent.config, "child.parent.", "--keytag", String(genuine.keyTag)])
        XCTAssertEqual(revokeByTag.status, 0, "only one key with that tag is not revoked: \(revokeByTag.stderr)")
        XCTAssertEqual(try store.key(KeyIdentity(zone: zone, child: child, rdata: genuine.keyData.rdata))?.state, .revoked)
        let reimported = try Tool.run(Self.binary, ["keys", "import", "--config", agent.config, agent.keyBase + ".key", "--trusted"])
        XCTAssertEqual(reimported.status, 0, reimported.stderr)
        try await Task.sleep(for: .seconds(1.1))  // the agent's one-second key cache

        // Point 5: the same signed UPDATE after a restart is a replay; the serial rose once.
        let change = Update(zone: zone, operations: [.add(try Record("child.parent. 60 IN NS ns.provider2.net."))]).message(id: 99, edns: EDNS())
        let signed = try SIG0Signer(keyFile: genuine).sign(change.wireFormat(), now: now + 1)
        let once = try Message(wire: await DNSClient(timeout: .seconds(15)).exchange(signed, host: "127.0.0.1", port: agent.port, transport: .tcp))
        XCTAssertEqual(once.rcode, .noError, once.edns?.extendedError?.extraText ?? "")
        let serial = try Lab.served(parent).serial
        agent.process.terminate()
        agent.process.waitUntilExit()
        agent.process = try await Self.launchServe(config: agent.config, port: agent.port, log: agent.log)
        let again = try Message(wire: await DNSClient(timeout: .seconds(15)).exchange(signed, host: "127.0.0.1", port: agent.port, transport: .tcp))
        XCTAssertEqual(again.rcode, .refused)
        XCTAssertTrue(again.edns?.extendedError?.extraText.contains("replayed") == true, again.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(try Lab.served(parent).serial, serial, "the replay changed the parent")
        let outbox = try store.pendingCount()
        XCTAssertEqual(outbox, 0)
    }
}
