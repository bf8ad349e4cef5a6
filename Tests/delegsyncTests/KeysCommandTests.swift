import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store
import TestSupport
import XCTest

/// `delegsync keys pending|approve|reject` and `delegsync status` on a store holding a job that
/// passed its rounds and waits for the operator.
final class KeysCommandTests: CommandLineTestCase {
    /// A configuration with `bootstrap` for `parent.`, and its store holding a known key for
    /// `child.parent.`.
    func configuration(bootstrap: String) throws -> (config: String, store: SQLiteStore, key: BINDKeyFile) {
        let config = "\(directory)/delegsync.yaml"
        try """
        version: 1
        store: { path: \(directory)/state.sqlite }
        zones:
          - name: parent.
            primary: { address: 127.0.0.1 }
            backend: { type: script, output: "-" }
            bootstrap: \(bootstrap)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let store = try SQLiteStore(path: "\(directory)/state.sqlite")
        let key = try BINDKeyFile.generate(owner: DomainName("child.parent."))
        try store.putKey(
            StoredKey(
                zone: DomainName("parent."), child: DomainName("child.parent."), keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .known,
                addedAt: 1, origin: "upload"))
        return (config, store, key)
    }

    func prepare() throws -> (config: String, keyTag: UInt16, store: SQLiteStore) {
        let (config, store, key) = try configuration(bootstrap: "{ rounds: 1, confirmation: always }")
        let child = try DomainName("child.parent.")
        var job = KeyBootstrap(
            zone: try DomainName("parent."), child: child, key: key.keyData.rdata, source: "192.0.2.7 (TCP)", now: Int64(Date().timeIntervalSince1970),
            policy: BootstrapPolicy(rounds: 1, confirmation: .always))
        _ = job.nextAction(now: job.createdAt)
        job.record(
            [
                KeyObservation(
                    nameserver: try DomainName("ns1.child.parent."), address: "192.0.2.1",
                    answer: .answered(rcode: 0, authoritative: true, keys: [key.keyData.rdata], ttl: 60))
            ], now: job.createdAt)
        XCTAssertEqual(job.state, .awaitingConfirmation)
        try store.putBootstrap(job, now: job.createdAt)
        return (config, key.keyTag, store)
    }

    func testPendingThenApprove() throws {
        let (config, keyTag, store) = try prepare()
        let pending = try delegsync("keys", "pending", "--config", config)
        XCTAssertEqual(pending.status, 0, pending.stderr)
        XCTAssertTrue(pending.stdout.contains("waiting for operator confirmation of source 192.0.2.7 (TCP)"), pending.stdout)
        let approved = try delegsync("keys", "approve", "--config", config, "child.parent.", "--keytag", String(keyTag))
        XCTAssertEqual(approved.status, 0, approved.stderr)
        XCTAssertTrue(approved.stdout.contains("approved and trusted"), approved.stdout)
        XCTAssertEqual(try store.key(zone: DomainName("parent."), child: DomainName("child.parent."), keyTag: keyTag, algorithm: 15)?.state, .trusted)
        let status = try delegsync("status", "--config", config, "child.parent.")
        XCTAssertTrue(status.stdout.contains("key \(keyTag) (ED25519): trusted"), status.stdout)
        XCTAssertEqual(try store.audit(child: DomainName("child.parent."), limit: 1).first?.decision, "APPROVED")
        let again = try delegsync("keys", "approve", "--config", config, "child.parent.", "--keytag", String(keyTag))
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.hasPrefix("error: no pending bootstrap job"), again.stderr)
    }

    /// `status` without a child: agent down (nothing listens on its port) is exit 3, with the
    /// zones, the pending job and the outbox depth.
    func testStatusWithoutChildWhenTheAgentIsDown() throws {
        let (config, _, _) = try prepare()
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
            of: "version: 1\n", with: "version: 1\nlisten: [{ address: 127.0.0.1, port: 1 }]\n")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let status = try delegsync("status", "--config", config)
        XCTAssertEqual(status.status, 3, status.stdout + status.stderr)
        XCTAssertTrue(status.stdout.contains("agent: down: no answer on 127.0.0.1 port 1"), status.stdout)
        XCTAssertTrue(status.stdout.contains("zones: parent."), status.stdout)
        XCTAssertTrue(status.stdout.contains("bootstrap jobs pending: 1 (child.parent. key"), status.stdout)
        XCTAssertTrue(status.stdout.contains("outbox: 0 change(s) waiting"), status.stdout)
    }

    func testReject() throws {
        let (config, keyTag, store) = try prepare()
        let rejected = try delegsync("keys", "reject", "--config", config, "child.parent.", "--keytag", String(keyTag))
        XCTAssertEqual(rejected.status, 0, rejected.stderr)
        XCTAssertEqual(try store.key(zone: DomainName("parent."), child: DomainName("child.parent."), keyTag: keyTag, algorithm: 15)?.state, .revoked)
        let status = try delegsync("status", "--config", config, "child.parent.")
        XCTAssertTrue(status.stdout.contains("rejected by the operator"), status.stdout)
    }
}

extension KeysCommandTests {
    /// publish-records prints the DSYNC (wildcard, scheme UPDATE, RFC 3597 form), the target's
    /// addresses, the receiver's KEY and the SVCB with the bootstrap methods, as nsupdate text.
    func testPublishRecords() throws {
        let made = try delegsync("keygen", "agent.parent.", "--directory", directory)
        let base = "\(directory)/\(made.stdout.split(separator: "\n")[0])"
        let config = "\(directory)/publish.yaml"
        try """
        version: 1
        listen: [{ address: 192.0.2.80, port: 5302 }]
        identity: { key-file: \(base).private }
        store: { path: \(directory)/state.sqlite }
        zones:
          - name: parent.
            primary: { address: 127.0.0.1 }
            backend: { type: script, output: "-" }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try delegsync("publish-records", "--config", config, "parent.")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "zone parent.")
        // DSYNC ANY UPDATE(2) 5302 agent.parent. (RFC 9859 §2.1 layout)
        XCTAssertTrue(lines.contains("update add *._dsync.parent. 3600 IN TYPE66 \\# 19 00FF0214B6056167656E7406706172656E7400"), result.stdout)
        XCTAssertTrue(lines.contains("update add agent.parent. 3600 IN A 192.0.2.80"), result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("update add agent.parent. 3600 IN KEY 512 3 15 ") }, result.stdout)
        // The bootstrap methods offered, in ServiceMode (the default methods: unsigned, manual).
        XCTAssertTrue(lines.contains("update add agent.parent. 3600 IN SVCB 1 . port=5302 key65282=unsigned,manual"), result.stdout)
        XCTAssertEqual(lines.last, "send")
    }
}

extension KeysCommandTests {
    /// A `manual` job (no rounds) is trusted by `delegsync keys approve`, the operator's act,
    /// even with `confirmation: command` (the approval command never decides it).
    func testApproveAManualJob() throws {
        let (config, store, key) = try configuration(bootstrap: "{ confirmation: command, approval-command: [/bin/false] }")
        let child = try DomainName("child.parent.")
        let now = Int64(Date().timeIntervalSince1970)
        try store.putBootstrap(
            KeyBootstrap(
                zone: try DomainName("parent."), child: child, key: key.keyData.rdata, source: "192.0.2.7 (TCP)", now: now,
                policy: BootstrapPolicy(confirmation: .command, approvalCommand: ["/bin/false"]), method: .manual),
            now: now)
        let pending = try delegsync("keys", "pending", "--config", config)
        XCTAssertTrue(pending.stdout.contains("manual bootstrap: waiting for an operator"), pending.stdout)
        let approved = try delegsync("keys", "approve", "--config", config, "child.parent.", "--keytag", String(key.keyTag))
        XCTAssertEqual(approved.status, 0, approved.stderr)
        XCTAssertTrue(approved.stdout.contains("approved and trusted"), approved.stdout)
        XCTAssertEqual(try store.key(zone: DomainName("parent."), child: child, keyTag: key.keyTag, algorithm: 15)?.state, .trusted)
    }
}
