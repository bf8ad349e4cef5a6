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
        let config = try writeParentConfig(zoneLines: ["bootstrap: \(bootstrap)"])
        let store = try SQLiteStore(path: "\(directory)/state.sqlite")
        let key = try BINDKeyFile.generate(owner: DomainName("child.parent."))
        try store.putKey(
            StoredKey(
                zone: DomainName("parent."), child: DomainName("child.parent."), keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .known,
                addedAt: 1, origin: "upload"))
        return (config, store, key)
    }

    func prepare() throws -> (config: String, keyTag: UInt16, store: SQLiteStore) {
        let prepared = try prepareKey()
        return (prepared.config, prepared.key.keyTag, prepared.store)
    }

    /// A job for a fresh key of child.parent. that passed its one round and waits for the operator.
    func prepareKey() throws -> (config: String, key: BINDKeyFile, store: SQLiteStore) {
        let (config, store, key) = try configuration(bootstrap: "{ rounds: 1, confirmation: always }")
        try putConfirmableJob(for: key, from: "192.0.2.7 (TCP)", in: store)
        return (config, key, store)
    }

    func identity(_ key: BINDKeyFile) throws -> KeyIdentity {
        KeyIdentity(zone: try DomainName("parent."), child: key.owner, rdata: key.keyData.rdata)
    }

    /// Stores a job for `key` whose one round passed and which waits for the operator.
    func putConfirmableJob(for key: BINDKeyFile, from source: String, in store: SQLiteStore) throws {
        var job = KeyBootstrap(
            zone: try DomainName("parent."), child: key.owner, key: key.keyData.rdata, source: source, now: Int64(Date().timeIntervalSince1970),
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
    }

    func testPendingThenApprove() throws {
        let (config, keyTag, store) = try prepare()
        let pending = try delegsync("keys", "pending", "--config", config)
        XCTAssertEqual(pending.status, 0, pending.stderr)
        XCTAssertTrue(pending.stdout.contains("waiting for operator confirmation of source 192.0.2.7 (TCP)"), pending.stdout)
        let approved = try delegsync("keys", "approve", "--config", config, "child.parent.", "--keytag", String(keyTag))
        XCTAssertEqual(approved.status, 0, approved.stderr)
        XCTAssertTrue(approved.stdout.contains("approved and trusted"), approved.stdout)
        XCTAssertEqual(try store.keys(zone: DomainName("parent."), child: DomainName("child.parent."), keyTag: keyTag, algorithm: 15).first?.state, .trusted)
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
        XCTAssertEqual(try store.keys(zone: DomainName("parent."), child: DomainName("child.parent."), keyTag: keyTag, algorithm: 15).first?.state, .revoked)
        let status = try delegsync("status", "--config", config, "child.parent.")
        XCTAssertTrue(status.stdout.contains("rejected by the operator"), status.stdout)
    }
}

/// Issue 10, points 1 and 2: an attacker's upload whose key merely shares the tag of the child's
/// key. On the old code `keys reject --keytag` revoked the child's *trusted* key, and `keys
/// approve --keytag` took whichever job came first.
extension KeysCommandTests {
    /// The child's trusted key and an attacker's pending job with the same tag: rejecting by tag
    /// is refused as ambiguous (both named); rejecting by digest leaves the trusted key trusted.
    func testRejectingACollidingUploadLeavesTheTrustedKeyAlone() throws {
        let (config, attacker, store) = try prepareKey()
        let child = try DomainName("child.parent.")
        let genuine = try CollidingKey.make(owner: child, tag: attacker.keyTag, notRDATA: attacker.keyData.rdata)
        try store.putKey(
            StoredKey(
                zone: DomainName("parent."), child: child, keyTag: genuine.keyTag, algorithm: 15, rdata: genuine.keyData.rdata, state: .trusted, addedAt: 1,
                origin: "import"))
        let list = try delegsync("keys", "list", "--config", config)
        XCTAssertTrue(list.stdout.contains(try identity(genuine).digestText), list.stdout)
        let pending = try delegsync("keys", "pending", "--config", config)
        XCTAssertTrue(pending.stdout.contains("key: \(try identity(attacker))"), pending.stdout)

        let byTag = try delegsync("keys", "revoke", "--config", config, "child.parent.", "--keytag", String(attacker.keyTag))
        XCTAssertEqual(byTag.status, 2, byTag.stdout)
        XCTAssertTrue(byTag.stderr.contains("2 keys match tag \(attacker.keyTag)"), byTag.stderr)
        XCTAssertTrue(try byTag.stderr.contains(identity(genuine).digestText) && byTag.stderr.contains(identity(attacker).digestText), byTag.stderr)

        let rejected = try delegsync("keys", "reject", "--config", config, "child.parent.", "--keytag", String(attacker.keyTag))
        XCTAssertEqual(rejected.status, 0, rejected.stderr)
        XCTAssertEqual(try store.key(identity(genuine))?.state, .trusted, "the child's trusted key must stay trusted")
        XCTAssertEqual(try store.key(identity(attacker))?.state, .revoked)
    }

    /// Two pending jobs with one tag: approve by tag names both and changes nothing; approve by
    /// the child's key file (or digest prefix) trusts exactly the child's key.
    func testApproveNamesExactlyOneKey() throws {
        let (config, attacker, store) = try prepareKey()
        let child = try DomainName("child.parent.")
        let genuine = try CollidingKey.make(owner: child, tag: attacker.keyTag, notRDATA: attacker.keyData.rdata)
        try putConfirmableJob(for: genuine, from: "198.51.100.9 (TCP)", in: store)

        let byTag = try delegsync("keys", "approve", "--config", config, "child.parent.", "--keytag", String(attacker.keyTag))
        XCTAssertEqual(byTag.status, 2)
        XCTAssertTrue(byTag.stderr.contains("2 keys match"), byTag.stderr)
        XCTAssertNil(try store.key(identity(genuine)))
        XCTAssertEqual(try store.key(identity(attacker))?.state, .known)

        try genuine.keyFileText.write(toFile: "\(directory)/\(genuine.baseName).key", atomically: true, encoding: .utf8)
        let byFile = try delegsync("keys", "approve", "--config", config, "child.parent.", "--key", "\(directory)/\(genuine.baseName).key")
        XCTAssertEqual(byFile.status, 0, byFile.stderr)
        XCTAssertTrue(byFile.stdout.contains("\(try identity(genuine)): approved and trusted"), byFile.stdout)
        XCTAssertEqual(try store.key(identity(genuine))?.state, .trusted)
        XCTAssertEqual(try store.key(identity(attacker))?.state, .revoked, "promotion revokes the other key by identity")

        let digest = String(try identity(genuine).digest.hexString.prefix(12))
        let revoked = try delegsync("keys", "revoke", "--config", config, "child.parent.", "--digest", "sha256:" + digest)
        XCTAssertEqual(revoked.status, 0, revoked.stderr)
        XCTAssertEqual(try store.key(identity(genuine))?.state, .revoked)
    }

    /// publish-records prints the DSYNC (wildcard, scheme UPDATE, RFC 3597 form), the target's
    /// addresses, the receiver's KEY and the SVCB with the bootstrap methods, as nsupdate text.
    func testPublishRecords() throws {
        let made = try delegsync("keygen", "agent.parent.", "--directory", directory)
        let base = "\(directory)/\(made.stdout.split(separator: "\n")[0])"
        let config = try publishConfig(identity: base, name: "publish")
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
        XCTAssertEqual(try store.key(KeyIdentity(zone: DomainName("parent."), child: child, rdata: key.keyData.rdata))?.state, .trusted)
    }
}
