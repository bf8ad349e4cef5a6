import ChildAgent
import DNSWire
import Foundation
import SIG0
import TestSupport
import Transport
import XCTest

/// DSYNC pointing at the parent's own nameservers (issue 13): a hidden BIND primary; two BIND
/// secondaries, the public NS, with `allow-update-forwarding { any; }` and delegsync's front as
/// their primary; a Knot secondary forwarding too; `delegsync serve` deciding the UPDATEs and
/// committing them to the hidden primary with TSIG, and relaying everything else.
///
/// The child agent discovers DSYNC → ns1.parent., bootstraps its key and syncs through the
/// forwarding; the change shows on both secondaries, whose serial follows every change through
/// the front. Through Knot the SIG(0) breaks and the child is told why. With the hidden primary
/// down a secondary's refresh through the front fails as it would without delegsync, and the
/// zone recovers when the primary returns. Addresses 127.0.0.180–187, port 53.
final class ForwardingIntegrationTests: XCTestCase {
    static let hidden = "127.0.0.180", front = "127.0.0.181", ns1 = "127.0.0.182", ns2 = "127.0.0.183", knot = "127.0.0.184"
    static let agentAddress = "127.0.0.185", childNS1 = "127.0.0.186", childNS2 = "127.0.0.187"

    static let parentZone = """
        $ORIGIN parent.
        $TTL 60
        @\tIN\tSOA\tns1.parent. hostmaster.parent. ( 2024010101 3600 900 604800 60 )
        @\tIN\tNS\tns1.parent.
        @\tIN\tNS\tns2.parent.
        ns1\tIN\tA\t\(ns1)
        ns2\tIN\tA\t\(ns2)
        child\tIN\tNS\tns1.child.parent.
        ns1.child\tIN\tA\t\(childNS1)

        """

    static let apex = ["child.parent. IN NS ns1.child.parent.", "ns1.child.parent. IN A \(childNS1)"]
    static let withNS2 = apex + ["child.parent. IN NS ns2.child.parent.", "ns2.child.parent. IN A \(childNS2)"]

    /// The SOA serial `server` serves.
    static func serial(_ server: LabServer) throws -> UInt32 { try Lab.served(server).serial }

    /// Waits until every one of `servers` serves `primary`'s serial (they follow through the
    /// front after the primary's NOTIFY).
    static func converge(_ servers: [LabServer], on primary: LabServer, what: String) async throws {
        let wanted = try serial(primary)
        for _ in 0..<100 {
            if try servers.allSatisfy({ try serial($0) == wanted }) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        XCTFail(
            "\(what): the secondaries serve \(try servers.map { try serial($0) }), the primary \(wanted)\n"
                + servers.map { $0.logTail(15) }.joined(separator: "\n---\n"))
    }

    /// A KSK for the child made by dnssec-keygen: its DNSKEY record, the CDS record that asks
    /// for its SHA-256 DS (dnssec-dsfromkey), and that digest as Lab.served prints it.
    static func ksk(_ directory: String) throws -> (dnskey: String, cds: String, digest: String) {
        guard let keygen = Tool.find("dnssec-keygen"), let dsFromKey = Tool.find("dnssec-dsfromkey") else {
            throw XCTSkip("BIND's dnssec tools are not installed")
        }
        let made = try Tool.run(keygen, ["-q", "-a", "ED25519", "-f", "KSK", "child.parent."], directory: directory)
        XCTAssertEqual(made.status, 0, made.stderr)
        let base = "\(directory)/\(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
        let dnskey = try String(contentsOfFile: base + ".key", encoding: .utf8).split(separator: "\n").first { !$0.hasPrefix(";") }.map(String.init) ?? ""
        let ds = try Record(Tool.run(dsFromKey, ["-2", base + ".key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let data = try DSData(rdata: ds.rdata)
        let digest = data.digest.map { String(format: "%02x", $0) }.joined()
        return (dnskey, "child.parent. IN CDS \(data.keyTag) \(data.algorithm) \(data.digestType) \(digest)", digest)
    }

    /// Sends `message` to `server` over TCP and returns the answer's bytes.
    static func exchange(_ message: [UInt8], _ server: String) async throws -> [UInt8] {
        try await DNSClient(timeout: .seconds(10)).exchange(message, host: server, port: 53, transport: .tcp)
    }

    /// An UPDATE of `operations`, with OPT (and a KeyState inquiry when `keyState`), signed by
    /// `key`.
    static func signedUpdate(_ operations: [Update.Operation], key: BINDKeyFile, keyState: Bool = false) throws -> [UInt8] {
        let edns = EDNS(options: keyState ? [KeyStateOption(keyID: key.keyTag, state: .inquiry).option()] : [])
        let message = try Update(zone: DomainName("parent."), operations: operations).message(id: .random(in: 0...UInt16.max), edns: edns)
        return try SIG0Signer(keyFile: key).sign(message.wireFormat(), now: UInt32(Date().timeIntervalSince1970))
    }

    /// Whether the agent's SIG(0) over `reply` to `request` verifies.
    static func signedByAgent(_ reply: [UInt8], request: [UInt8], identity: BINDKeyFile) -> Bool {
        (try? SIG0Verifier().verify(
            message: reply, key: SIG0PublicKey(identity.keyData), expectedSigner: identity.owner, now: UInt32(Date().timeIntervalSince1970), request: request))
            != nil
    }

    func testChildSyncsThroughTheParentsForwardingNameservers() async throws {
        try Lab.skipUnlessAvailable(.bind)
        try Lab.skipUnlessAvailable(.knot)
        try Lab.skipUnlessAvailable(.nsd)
        guard FileManager.default.isExecutableFile(atPath: ServeIntegrationTests.binary) else { throw ToolError("no delegsync binary") }

        // The hidden primary NOTIFYs the secondaries directly; they transfer through the front.
        let primary = try LabServer.bind(
            zone: "parent.", zoneFileText: Self.parentZone, address: Self.hidden, port: 53,
            alsoNotify: [(Self.ns1, 53), (Self.ns2, 53), (Self.knot, 53)])
        defer { primary.stop() }

        let agentDirectory = try Tool.temporaryDirectory("forwarding-agent")
        defer { try? FileManager.default.removeItem(atPath: agentDirectory) }
        let made = try Tool.run(ServeIntegrationTests.binary, ["keygen", "agent.parent.", "--directory", agentDirectory])
        XCTAssertEqual(made.status, 0, made.stderr)
        let identityBase = "\(agentDirectory)/\(made.stdout.split(separator: "\n")[0])"
        let identity = try BINDKeyFile.load(path: identityBase + ".key")
        let config = "\(agentDirectory)/delegsync.yaml"
        try """
        version: 1
        listen: [{ address: \(Self.agentAddress), port: 53 }]
        store: { path: \(agentDirectory)/state.sqlite }
        log-level: debug
        identity: { key-file: \(identityBase).private }
        zones:
          - name: parent.
            primary: { address: \(Self.hidden), port: 53 }
            front: { address: \(Self.front), port: 53 }
            forwarders: [\(Self.ns1), \(Self.ns2), \(Self.knot)]
            backend: { type: rfc2136, tsig-key-file: \(primary.tsigKeyFile!) }
            bootstrap: { rounds: 2, minimum-interval: 1, maximum-interval: 2 }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let log = "\(agentDirectory)/serve.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let agent = try await ServeIntegrationTests.launchServe(config: config, port: 53, log: log, host: Self.agentAddress)
        defer {
            agent.terminate()
            agent.waitUntilExit()
        }
        var agentLog: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        // Each secondary answers only after its first AXFR, through the front.
        let secondary1 = try LabServer.bindSecondary(
            zone: "parent.", primary: (Self.front, 53), address: Self.ns1, port: 53, forwardsUpdates: true, allowNotify: [Self.hidden])
        defer { secondary1.stop() }
        let secondary2 = try LabServer.bindSecondary(
            zone: "parent.", primary: (Self.front, 53), address: Self.ns2, port: 53, forwardsUpdates: true, allowNotify: [Self.hidden])
        defer { secondary2.stop() }
        let knotSecondary = try LabServer.knotSecondary(zone: "parent.", primary: (Self.front, 53), address: Self.knot, port: 53, allowNotify: [Self.hidden])
        defer { knotSecondary.stop() }
        let secondaries = [secondary1, secondary2, knotSecondary]
        try await Self.converge(secondaries, on: primary, what: "first transfer")

        // DSYNC naming ns1.parent. (publish-records --via-nameserver), applied at the primary;
        // the secondaries follow (IXFR through the front).
        let records = try Tool.run(ServeIntegrationTests.binary, ["publish-records", "--config", config, "parent.", "--via-nameserver", "ns1.parent."])
        XCTAssertEqual(records.status, 0, records.stderr)
        XCTAssertTrue(records.stderr.contains("through that nameserver's forwarding"), records.stderr)
        let published = try Tool.run(
            "/usr/bin/nsupdate", ["-k", primary.tsigKeyFile!], input: Data(("server \(Self.hidden) 53\n" + records.stdout).utf8))
        XCTAssertEqual(published.status, 0, published.stderr)
        try await Self.converge(secondaries, on: primary, what: "DSYNC published")
        let dsync = try secondary2.dig(["+short", "child._dsync.parent.", "TYPE66"])
        XCTAssertTrue(dsync.contains("53 ns1.parent."), dsync)

        // The child: NSD on two addresses, the KEY published; DSYNC discovery through ns1.
        let childDirectory = try Tool.temporaryDirectory("forwarding-child")
        defer { try? FileManager.default.removeItem(atPath: childDirectory) }
        let childConfig = "\(childDirectory)/child.yaml"
        try """
        version: 1
        store: { path: \(childDirectory)/child.sqlite }
        key-directory: \(childDirectory)/keys
        resolver: { address: \(Self.ns1), port: 53 }
        children:
          - name: child.parent.
            primary: { address: \(Self.childNS1), port: 53 }
            servers: [{ address: \(Self.childNS1), port: 53 }]
            publish: { type: print }
            parent-servers: [{ address: \(Self.ns1), port: 53 }, { address: \(Self.ns2), port: 53 }]
            receiver-key: \(identityBase).key
        """.write(toFile: childConfig, atomically: true, encoding: .utf8)
        let keyRecord = try ChildScenarioIntegrationTests.keygen(childConfig, childDirectory)
        let childKey = try BINDKeyFile.load(
            path: try FileManager.default.contentsOfDirectory(atPath: "\(childDirectory)/keys").filter { $0.hasSuffix(".private") }.map {
                "\(childDirectory)/keys/\($0)"
            }.first.unwrapped(), requirePrivate: true)
        let childServer = try LabServer.nsd(
            zone: "child.parent.", zoneFileText: ChildScenarioIntegrationTests.childZone(1, Self.apex + [keyRecord]), address: Self.childNS1, port: 53,
            alsoListenOn: [Self.childNS2])
        defer { childServer.stop() }

        // Bootstrap: the upload goes through ns1; KeyState inquiries are queries, which ns1
        // answers itself, so the child says so and leaves the following to sync --wait.
        let bootstrap = try ChildScenarioIntegrationTests.child(childConfig, "bootstrap", "--wait", "20", "--poll", "1")
        XCTAssertEqual(bootstrap.status, 3, bootstrap.stdout + bootstrap.stderr + agentLog)
        XCTAssertTrue(bootstrap.stdout.contains("DSYNC:"), bootstrap.stdout)
        XCTAssertTrue(bootstrap.stdout.contains("\(Self.ns1) does not answer KeyState inquiries"), bootstrap.stdout)
        XCTAssertTrue(bootstrap.stdout.contains("the parent answered NOERROR"), bootstrap.stdout)
        let pending = try Tool.run(ServeIntegrationTests.binary, ["keys", "pending", "--config", config])
        let status = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", config, "child.parent."])
        XCTAssertTrue(
            (pending.stdout + status.stdout).contains("uploaded from forwarded by \(Self.ns1) (TCP)"), pending.stdout + status.stdout + agentLog)

        // The child adds ns2 and a KSK with its CDS; sync --wait sends the UPDATE until the key
        // is trusted and the change (NS, glue, DS) committed, all through ns1; both secondaries
        // serve it.
        let ksk = try Self.ksk(childDirectory)
        try childServer.reload(zoneFileText: ChildScenarioIntegrationTests.childZone(2, Self.withNS2 + [keyRecord, ksk.dnskey, ksk.cds]))
        let sync = try ChildScenarioIntegrationTests.child(childConfig, "sync", "--wait", "60")
        XCTAssertEqual(sync.status, 0, sync.stdout + sync.stderr + agentLog)
        XCTAssertTrue(sync.stdout.contains("applied: the parent committed the change (NOERROR"), sync.stdout)
        try await Self.converge(secondaries, on: primary, what: "the child's change")
        for server in [secondary1, secondary2] {
            XCTAssertEqual(try Lab.served(server).ns, ["child.parent. ns ns1.child.parent.", "child.parent. ns ns2.child.parent."])
            XCTAssertEqual(try Lab.served(server).glue, ["ns1.child.parent. a \(Self.childNS1)", "ns2.child.parent. a \(Self.childNS2)"])
            let ds = try Lab.served(server).ds
            XCTAssertEqual(ds.count, 1, "\(ds)")
            XCTAssertEqual(ds.first.map { $0.hasSuffix(ksk.digest) }, true, "\(ds)")
        }

        // What a child sees through BIND (measured here): a refusal arrives as delegsync sent
        // it, OPT, EDE, KeyState and delegsync's SIG(0) included; BADKEY as REFUSED.
        let stranger = try BINDKeyFile.generate(owner: DomainName("child.parent."))
        let strangerRequest = try Self.signedUpdate([.add(try Record("child.parent. 60 IN NS ns3.child.parent."))], key: stranger, keyState: true)
        let strangerBytes = try await Self.exchange(strangerRequest, Self.ns1)
        let strangerReply = try Message(wire: strangerBytes)
        XCTAssertEqual(strangerReply.rcode, .refused)
        XCTAssertTrue(strangerReply.edns?.extendedError?.extraText.contains("no trusted key") == true, "\(strangerReply)")
        XCTAssertEqual(strangerReply.edns?.keyState()?.state, .unknown)
        XCTAssertTrue(Self.signedByAgent(strangerBytes, request: strangerRequest, identity: identity), "BIND passed delegsync's signature on")
        // A signed UPDATE of the trusted key comes back well within nsupdate's 3 s retransmit.
        let started = ContinuousClock.now
        let trustedRequest = try Self.signedUpdate([.add(try Record("child.parent. 60 IN NS ns1.child.parent."))], key: childKey, keyState: true)
        let trustedBytes = try await Self.exchange(trustedRequest, Self.ns2)
        let elapsed = ContinuousClock.now - started
        XCTAssertEqual(try Message(wire: trustedBytes).rcode, .noError)
        XCTAssertTrue(Self.signedByAgent(trustedBytes, request: trustedRequest, identity: identity))
        XCTAssertLessThan(elapsed, .seconds(3))
        print("measured: a signed UPDATE through ns2 answered NOERROR, signed, in \(elapsed)")
        // A KeyState inquiry (a query) is answered by ns1 itself: no KeyState, no signature.
        let inquiry = try ParentChannel.inquiry(child: DomainName("child.parent."), key: childKey, now: UInt32(Date().timeIntervalSince1970))
        let inquiryBytes = try await Self.exchange(inquiry, Self.ns1)
        let inquiryReply = try Message(wire: inquiryBytes)
        XCTAssertNil(inquiryReply.edns?.keyState(), "\(inquiryReply)")
        XCTAssertFalse(Self.signedByAgent(inquiryBytes, request: inquiry, identity: identity))
        print("measured: KeyState inquiry to the BIND secondary → \(inquiryReply.rcode), aa=\(inquiryReply.header.aa), \(inquiryReply.answer.count) answer(s)")

        // Through Knot: the forwarded UPDATE has a new ID, the SIG(0) breaks, and the child is
        // told why (REFUSED with the explanation, from delegsync).
        let viaKnotRequest = try Self.signedUpdate([.add(try Record("child.parent. 60 IN NS ns2.child.parent."))], key: childKey)
        let viaKnotBytes = try await Self.exchange(viaKnotRequest, Self.knot)
        let viaKnot = try Message(wire: viaKnotBytes)
        XCTAssertEqual(viaKnot.rcode, .refused, "\(viaKnot)\n\(knotSecondary.logTail())")
        XCTAssertTrue(viaKnot.edns?.extendedError?.extraText.contains("new message ID (Knot DNS does)") == true, "\(viaKnot)")
        print(
            "measured: through Knot → \(viaKnot.rcode), EDE \(viaKnot.edns?.extendedError.map { "\($0.infoCode)" } ?? "none"), ID kept: \(viaKnot.id == (try Message(wire: viaKnotRequest)).id), delegsync's SIG(0) verifies: \(Self.signedByAgent(viaKnotBytes, request: viaKnotRequest, identity: identity))"
        )
        let audit = try Tool.run(ServeIntegrationTests.binary, ["audit", "--config", config, "--child", "child.parent."])
        XCTAssertTrue(audit.stdout.contains("\(Self.knot):"), audit.stdout)
        XCTAssertTrue(audit.stdout.contains("as \(Self.knot) forwarded it"), audit.stdout)

        // The hidden primary goes away. A NOTIFY (as the primary would send) makes ns1 refresh
        // through the front: it fails as it would with the primary down and no front.
        primary.stopDaemon()
        let notified = try Tool.run(
            "/usr/bin/dig", ["+tries=1", "+time=2", "-b", Self.hidden, "@\(Self.ns1)", "+opcode=notify", "parent.", "SOA"])
        XCTAssertTrue(notified.stdout.contains("status: NOERROR"), notified.stdout)
        var refreshFailed = false
        for _ in 0..<120 where !refreshFailed {
            try await Task.sleep(for: .milliseconds(500))
            let text = (try? String(contentsOfFile: secondary1.logFile, encoding: .utf8)) ?? ""
            refreshFailed =
                text.contains("refresh: failure trying primary \(Self.front)#53") || text.contains("refresh: retry limit for primary \(Self.front)#53")
        }
        XCTAssertTrue(refreshFailed, "no refresh failure in ns1's log:\n\(secondary1.logTail(40))")
        print(
            "measured: ns1 during the outage:\n"
                + secondary1.logTail(40).split(separator: "\n").filter { $0.contains("refresh") || $0.contains("notify") }.joined(separator: "\n"))
        XCTAssertNoThrow(try Self.serial(secondary1), "ns1 still serves the zone")

        // Meanwhile the child drops ns2: delegsync keeps the change (SERVFAIL, the primary is
        // down), which reaches the child as ns1's own unsigned SERVFAIL, taken as no answer.
        try childServer.reload(zoneFileText: ChildScenarioIntegrationTests.childZone(3, Self.apex + [keyRecord]))
        let outage = try ChildScenarioIntegrationTests.child(childConfig, "sync", "--attempts", "2")
        XCTAssertEqual(outage.status, 1, outage.stdout + outage.stderr)
        XCTAssertTrue(outage.stderr.contains("SERVFAIL without the receiver's signature"), outage.stderr)

        // The primary returns (its journal holds the changes so far): the outbox applies the
        // change, and the secondaries follow through the front again.
        try primary.restartDaemon()
        var applied = false
        for _ in 0..<60 where !applied {
            try await Task.sleep(for: .milliseconds(500))
            applied = try Lab.served(primary).ns == ["child.parent. ns ns1.child.parent."]
        }
        XCTAssertTrue(applied, "the outbox did not apply the change: \(agentLog.suffix(3000))")
        try await Self.converge(secondaries, on: primary, what: "after the outage")
        for server in [secondary1, secondary2] {
            XCTAssertEqual(try Lab.served(server).ns, ["child.parent. ns ns1.child.parent."])
        }

        // The child agent pointed at the Knot secondary: the reply's SIG(0) cannot verify (the
        // ID it covers is Knot's), so nothing is believed, but the operator reads why.
        let knotConfig = "\(childDirectory)/child-knot.yaml"
        try String(contentsOfFile: childConfig, encoding: .utf8).replacingOccurrences(
            of: "    publish: { type: print }", with: "    publish: { type: print }\n    target: { address: \(Self.knot), port: 53 }"
        ).write(toFile: knotConfig, atomically: true, encoding: .utf8)
        try childServer.reload(zoneFileText: ChildScenarioIntegrationTests.childZone(4, Self.withNS2 + [keyRecord]))
        let before = try Self.serial(primary)
        let viaKnotSync = try ChildScenarioIntegrationTests.child(knotConfig, "sync", "--attempts", "1")
        XCTAssertEqual(viaKnotSync.status, 1, viaKnotSync.stdout + viaKnotSync.stderr)
        XCTAssertTrue(viaKnotSync.stderr.contains("not believed (unverified, it said: REFUSED (EDE 18: "), viaKnotSync.stderr)
        XCTAssertTrue(viaKnotSync.stderr.contains("new message ID (Knot DNS does)"), viaKnotSync.stderr)
        XCTAssertEqual(try Self.serial(primary), before, "nothing was committed")
    }
}

extension Optional {
    func unwrapped() throws -> Wrapped {
        guard let self else { throw ToolError("nothing there") }
        return self
    }
}
