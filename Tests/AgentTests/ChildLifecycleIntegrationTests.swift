import DNSWire
import Foundation
import SIG0
import TestSupport
import XCTest

/// The child agent end to end on loopback: the parent zone on BIND (with `*._dsync.parent.`
/// naming `delegsync serve`), the child zone on BIND. `delegsync child keygen` → `publish-key`
/// (RFC 2136 with TSIG to the child's primary) → `bootstrap` (DSYNC discovery, self-signed
/// upload, KeyState until trusted) → the child zone changes (NS with glue added, one NS removed,
/// a KSK whose DS the parent lacks) → `delegsync child sync` → `dig` at the parent shows
/// exactly the new delegation → `delegsync child roll`, after which the old key no longer works.
final class ChildLifecycleIntegrationTests: XCTestCase {
    static let base = 185

    func testKeygenPublishBootstrapSync() async throws {
        try Lab.skipUnlessAvailable(.bind)
        guard let nsupdate = Tool.find("nsupdate") else { throw XCTSkip("nsupdate is not installed") }
        let parentAddress = "127.0.0.\(Self.base)", ns1 = "127.0.0.\(Self.base + 1)", ns2 = "127.0.0.\(Self.base + 2)"
        let agentPort = 15300 + Self.base + 100
        // The wildcard DSYNC (RFC 9859 §3) in RFC 3597 form, naming the agent on 127.0.0.1.
        let dsync = DSYNCData(rrType: .any, scheme: .update, port: UInt16(agentPort), target: try DomainName("agent.parent."))
        let dsyncHex = dsync.rdata.map { String(format: "%02X", $0) }.joined()
        let parentText =
            Lab.apex + """
                *._dsync.parent.\t3600\tIN\tTYPE66\t\\# \(dsync.rdata.count) \(dsyncHex)
                agent.parent.\t3600\tIN\tA\t127.0.0.1
                child.parent.\t3600\tIN\tNS\tns1.child.parent.
                ns1.child.parent.\t3600\tIN\tA\t\(ns1)

                """
        // A KSK (SEP bit) at the child's apex: the parent should hold its SHA-256 DS (the zone is
        // not signed; the DS is computed, as RFC 7344 §4 allows without CDS).
        guard let dnssecKeygen = Tool.find("dnssec-keygen"), let dsFromKey = Tool.find("dnssec-dsfromkey") else {
            throw XCTSkip("BIND's DNSSEC tools are missing")
        }
        let ksk = try Tool.temporaryDirectory("child-ksk")
        defer { try? FileManager.default.removeItem(atPath: ksk) }
        let made = try Tool.run(dnssecKeygen, ["-q", "-a", "ED25519", "-f", "KSK", "child.parent."], directory: ksk)
        let kskBase = "\(ksk)/\(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
        let dnskeyLine =
            try String(contentsOfFile: kskBase + ".key", encoding: .utf8).split(separator: "\n").first { !$0.hasPrefix(";") }.map(String.init) ?? ""
        let dsLine = try Tool.run(dsFromKey, ["-2", kskBase + ".key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let expectedDS = Lab.key(try Record(dsLine))
        let childText = """
            $TTL 1
            child.parent.      IN SOA ns1.child.parent. hostmaster.child.parent. 1 3600 900 604800 1
            child.parent.      IN NS  ns1.child.parent.
            ns1.child.parent.  IN A   \(ns1)
            \(dnskeyLine)

            """
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: parentText, address: parentAddress, port: 15300 + Self.base)
        defer { parent.stop() }
        let child = try LabServer.bind(zone: "child.parent.", zoneFileText: childText, address: ns1, port: 53)
        defer { child.stop() }
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: agentPort,
            backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }\n    bootstrap: { rounds: 2, minimum-interval: 1, maximum-interval: 2 }",
            importKey: false)
        defer {
            agent.stop()
            try? FileManager.default.removeItem(atPath: agent.directory)
        }

        let directory = try Tool.temporaryDirectory("child-agent")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = "\(directory)/child.yaml"
        try """
        version: 1
        store: { path: \(directory)/child.sqlite }
        key-directory: \(directory)/keys
        resolver: { address: \(parentAddress), port: \(parent.port) }
        children:
          - name: child.parent.
            primary: { address: \(ns1), port: 53 }
            servers: [{ address: \(ns1), port: 53 }]
            publish: { type: rfc2136, tsig-key-file: \(child.tsigKeyFile!) }
            parent-servers: [{ address: \(parentAddress), port: \(parent.port) }]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        func run(_ arguments: String...) throws -> Tool.Result {
            try Tool.run(ServeIntegrationTests.binary, ["child"] + arguments + ["--config", config, "child.parent."])
        }

        let keygen = try run("keygen")
        XCTAssertEqual(keygen.status, 0, keygen.stderr)
        // Bootstrap before the KEY is published: refused here, naming the server.
        let early = try run("bootstrap", "--wait", "5", "--poll", "1")
        XCTAssertEqual(early.status, 2, early.stdout + early.stderr)
        XCTAssertTrue(early.stderr.contains("is not published at"), early.stderr)
        let published = try run("publish-key")
        XCTAssertEqual(published.status, 0, published.stdout + published.stderr)
        XCTAssertTrue(try child.dig(["+short", "child.parent.", "KEY"]).contains("512 3 15 "))

        let bootstrap = try run("bootstrap", "--wait", "30", "--poll", "1")
        XCTAssertEqual(bootstrap.status, 0, bootstrap.stdout + bootstrap.stderr + agent.logText)
        XCTAssertTrue(bootstrap.stdout.contains("DSYNC"), bootstrap.stdout)
        XCTAssertTrue(bootstrap.stdout.contains("trusted: the parent trusts key"), bootstrap.stdout)

        // The child zone changes: a second nameserver with glue (the KSK was there from the start).
        let edit = try Tool.run(
            nsupdate, ["-k", child.tsigKeyFile!],
            input: Data(
                """
                server \(ns1) 53
                zone child.parent.
                update add child.parent. 1 IN NS ns2.child.parent.
                update add ns2.child.parent. 1 IN A \(ns2)
                send

                """.utf8))
        XCTAssertEqual(edit.status, 0, edit.stderr)
        let dry = try run("sync", "--dry-run")
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("update add child.parent. 3600 IN NS ns2.child.parent."), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("update add ns2.child.parent. 3600 IN A \(ns2)"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("IN DS "), dry.stdout)
        XCTAssertFalse(try Lab.served(parent).ns.contains("child.parent. ns ns2.child.parent."), "--dry-run sent something")

        let sync = try run("sync")
        XCTAssertEqual(sync.status, 0, sync.stdout + sync.stderr + agent.logText)
        var served = try Lab.served(parent)
        XCTAssertEqual(served.ns, ["child.parent. ns ns1.child.parent.", "child.parent. ns ns2.child.parent."])
        XCTAssertEqual(served.glue, ["ns1.child.parent. a \(ns1)", "ns2.child.parent. a \(ns2)"])
        XCTAssertEqual(served.ds, [expectedDS])

        // ns1 leaves the NS set: its glue goes too. A second sync finds nothing to do.
        let remove = try Tool.run(
            nsupdate, ["-k", child.tsigKeyFile!],
            input: Data("server \(ns1) 53\nzone child.parent.\nupdate delete child.parent. NS ns1.child.parent.\nsend\n".utf8))
        XCTAssertEqual(remove.status, 0, remove.stderr)
        let second = try run("sync")
        XCTAssertEqual(second.status, 0, second.stdout + second.stderr)
        served = try Lab.served(parent)
        XCTAssertEqual(served.ns, ["child.parent. ns ns2.child.parent."])
        XCTAssertEqual(served.glue, ["ns2.child.parent. a \(ns2)"])
        let again = try run("sync")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("in step"), again.stdout)

        // Rollover: the new key is added (old key's signature), the old one deleted (new key's
        // signature), unpublished and retired. The old key no longer works at the parent.
        let before = try ChildKeyFiles.list("\(directory)/keys")
        XCTAssertEqual(before.count, 1)
        let roll = try run("roll")
        XCTAssertEqual(roll.status, 0, roll.stdout + roll.stderr + agent.logText)
        XCTAssertTrue(roll.stdout.contains("rolled: key"), roll.stdout)
        let after = try ChildKeyFiles.list("\(directory)/keys")
        XCTAssertEqual(after.count, 1)
        XCTAssertNotEqual(after, before)
        let oldKey = try BINDKeyFile.load(path: "\(directory)/keys/retired/\(before[0]).private")
        let newKey = try BINDKeyFile.load(path: "\(directory)/keys/\(after[0]).private")
        XCTAssertEqual(try child.dig(["+short", "child.parent.", "KEY"]).split(separator: "\n").count, 1)
        XCTAssertTrue(try child.dig(["+short", "child.parent.", "KEY"]).contains(newKey.record.rdataPresentation.split(separator: " ").last!))
        let oldSigned = try Tool.run(
            nsupdate, ["-v", "-t", "10", "-k", "\(directory)/keys/retired/\(before[0]).private"],
            input: Data("server 127.0.0.1 \(agentPort)\nzone parent.\nupdate add child.parent. 3600 NS ns9.child.parent.\nsend\n".utf8))
        XCTAssertNotEqual(oldSigned.status, 0, "an UPDATE signed by the retired key \(oldKey.keyTag) was accepted")
        // nsupdate sends no OPT record, so BADKEY (an extended RCODE) arrives as REFUSED; the
        // audit has the reason.
        XCTAssertTrue(oldSigned.stdout.contains("REFUSED") || oldSigned.stderr.contains("REFUSED"), oldSigned.stdout + oldSigned.stderr)
        let audit = try Tool.run(ServeIntegrationTests.binary, ["audit", "--config", agent.config, "--child", "child.parent."]).stdout
        XCTAssertTrue(audit.contains("no trusted key \(oldKey.keyTag)"), audit)
        let agentStatus = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout
        XCTAssertTrue(agentStatus.contains("key \(oldKey.keyTag) (ED25519): revoked"), agentStatus)
        XCTAssertTrue(agentStatus.contains("key \(newKey.keyTag) (ED25519): trusted, from rollover"), agentStatus)
        // The new key signs the next sync.
        let afterRoll = try run("sync")
        XCTAssertEqual(afterRoll.status, 0, afterRoll.stderr)

        let status = try run("status")
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains(": trusted at the parent"), status.stdout)
        XCTAssertTrue(status.stdout.contains("now: parent and child agree"), status.stdout)
    }
}

/// The key pairs in a child agent's key directory, by base name.
enum ChildKeyFiles {
    static func list(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".private") }.map { String($0.dropLast(8)) }.sorted()
    }
}
