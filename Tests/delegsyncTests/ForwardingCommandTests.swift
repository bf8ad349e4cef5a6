import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store
import TestSupport
import XCTest

/// The operator's side of forwarding through the parent's nameservers: `publish-records
/// --via-nameserver` names the parent's NS as DSYNC target (and says how the UPDATE gets to the
/// agent), and `keys pending` says an upload was forwarded.
final class ForwardingCommandTests: CommandLineTestCase {
    func config(front: Bool, identity: String? = nil) throws -> String {
        let config = "\(directory)/forwarding.yaml"
        try """
        version: 1
        listen: [{ address: 192.0.2.80, port: 5302 }]
        \(identity.map { "identity: { key-file: \($0) }" } ?? "")
        store: { path: \(directory)/state.sqlite }
        zones:
          - name: parent.
            primary: { address: 192.0.2.53 }
            backend: { type: script, output: "-" }
        \(front ? "    front: { address: 192.0.2.54 }\n    forwarders: [192.0.2.1, 192.0.2.2]" : "")
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    func testPublishRecordsViaTheParentsNameserver() throws {
        let made = try delegsync("keygen", "agent.parent.", "--directory", directory)
        let base = "\(directory)/\(made.stdout.split(separator: "\n")[0])"
        let result = try delegsync("publish-records", "--config", config(front: true, identity: base + ".private"), "parent.", "--via-nameserver", "ns1.parent")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        // DSYNC ANY UPDATE(2) 53 ns1.parent. (RFC 9859 §2.1 layout)
        XCTAssertTrue(lines.contains("update add *._dsync.parent. 3600 IN TYPE66 \\# 17 00FF020035036E733106706172656E7400"), result.stdout)
        XCTAssertFalse(lines.contains { $0.contains(" IN A ") }, "the nameserver has its addresses already: \(result.stdout)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("update add agent.parent. 3600 IN KEY 512 3 15 ") }, result.stdout)
        XCTAssertTrue(lines.contains("update add ns1.parent. 3600 IN SVCB 1 . port=53 key65282=unsigned,manual"), result.stdout)
        XCTAssertTrue(result.stderr.contains("front 192.0.2.54 port 53"), result.stderr)
        XCTAssertTrue(result.stderr.contains("zones[].forwarders"), result.stderr)
        // Without an identity the DSYNC can still name the nameserver; the note says what is lost.
        let bare = try delegsync("publish-records", "--config", config(front: true), "parent.", "--via-nameserver", "ns1.parent.")
        XCTAssertEqual(bare.status, 0, bare.stderr)
        XCTAssertFalse(bare.stdout.contains(" KEY "), bare.stdout)
        XCTAssertTrue(bare.stderr.contains("cannot authenticate them"), bare.stderr)
    }

    func testPublishRecordsViaANameserverNeedsAFront() throws {
        let result = try delegsync("publish-records", "--config", config(front: false), "parent.", "--via-nameserver", "ns1.parent.")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("parent. has no front"), result.stderr)
        XCTAssertTrue(result.stderr.contains("zones[].front"), result.stderr)
    }

    func testKeysPendingSaysTheUploadWasForwarded() throws {
        let config = try config(front: true)
        let store = try SQLiteStore(path: "\(directory)/state.sqlite")
        let key = try BINDKeyFile.generate(owner: DomainName("child.parent."))
        let now = Int64(Date().timeIntervalSince1970)
        try store.putBootstrap(
            KeyBootstrap(
                zone: try DomainName("parent."), child: key.owner, key: key.keyData.rdata,
                source: KeyBootstrap.source(address: "192.0.2.1", transport: "tcp", forwarded: true), now: now, policy: BootstrapPolicy()),
            now: now)
        let pending = try delegsync("keys", "pending", "--config", config)
        XCTAssertEqual(pending.status, 0, pending.stderr)
        XCTAssertTrue(pending.stdout.contains("child.parent. key \(key.keyTag), uploaded from forwarded by 192.0.2.1 (TCP)"), pending.stdout)
    }
}
