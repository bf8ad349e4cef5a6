import DNSWire
import Foundation
import SIG0
import TestSupport
import XCTest

/// The child agent end to end on loopback, every pairing of parent (BIND, Knot, NSD, with
/// `*._dsync.parent.` naming `delegsync serve`) and child (BIND, Knot, NSD) nameserver.
/// `delegsync child keygen` → `publish-key` (RFC 2136 with TSIG to BIND and Knot; NSD has no
/// UPDATE, so the key goes into its zone file) → `bootstrap` (DSYNC discovery, self-signed
/// upload, KeyState until trusted) → with `delegsync child watch` running, the child zone
/// changes (NS with glue added; then one NS removed and a KSK added), the primary NOTIFYs, the
/// watcher syncs, and `dig` at the parent shows exactly the new delegation (DS from the KSK) →
/// `delegsync child sync --dry-run` and `sync` by hand → `delegsync child roll`, after which the old key
/// no longer works.
final class ChildLifecycleIntegrationTests: XCTestCase {
    // The 3×3 matrix: parent on BIND, Knot or NSD (backends rfc2136, rfc2136, nsd) × child on
    // BIND, Knot or NSD.
    func testBINDParentBINDChild() async throws { try await lifecycle(parent: .bind, .bind, base: 185) }
    func testBINDParentKnotChild() async throws { try await lifecycle(parent: .bind, .knot, base: 190) }
    func testBINDParentNSDChild() async throws { try await lifecycle(parent: .bind, .nsd, base: 195) }
    func testKnotParentBINDChild() async throws { try await lifecycle(parent: .knot, .bind, base: 205) }
    func testKnotParentKnotChild() async throws { try await lifecycle(parent: .knot, .knot, base: 210) }
    func testKnotParentNSDChild() async throws { try await lifecycle(parent: .knot, .nsd, base: 215) }
    func testNSDParentBINDChild() async throws { try await lifecycle(parent: .nsd, .bind, base: 220) }
    func testNSDParentKnotChild() async throws { try await lifecycle(parent: .nsd, .knot, base: 225) }
    func testNSDParentNSDChild() async throws { try await lifecycle(parent: .nsd, .nsd, base: 230) }

    /// The child zone, edited the way its server takes changes: UPDATE with TSIG (BIND, Knot),
    /// or a new zone file and a reload (NSD).
    final class ChildZone {
        let server: LabServer
        var serial: UInt32 = 1
        var records: [String]

        init(server: LabServer, records: [String]) {
            self.server = server
            self.records = records
        }

        static func text(serial: UInt32, records: [String]) -> String {
            "$TTL 1\nchild.parent. IN SOA ns1.child.parent. hostmaster.child.parent. \(serial) 3600 900 604800 1\n" + records.joined(separator: "\n") + "\n"
        }

        func change(add: [String] = [], delete: [String] = []) throws {
            if server.kind == .nsd {
                records.removeAll { delete.contains($0) }
                records += add
                serial += 1
                try server.reload(zoneFileText: Self.text(serial: serial, records: records))
                return
            }
            let lines =
                ["server \(server.address) \(server.port)", "zone child.parent."] + delete.map { "update delete \($0)" } + add.map { "update add \($0)" }
            let result = try Tool.run("nsupdate", ["-k", server.tsigKeyFile!], input: Data((lines + ["send", ""]).joined(separator: "\n").utf8))
            guard result.status == 0 else { throw ToolError("nsupdate to the child: \(result.stderr)\n\(server.logTail(8))") }
        }
    }

    func lifecycle(parent parentKind: LabServer.Kind, _ kind: LabServer.Kind, base: Int) async throws {
        try Lab.skipUnlessAvailable(.bind)
        try Lab.skipUnlessAvailable(parentKind)
        try Lab.skipUnlessAvailable(kind)
        guard let nsupdate = Tool.find("nsupdate"), let dnssecKeygen = Tool.find("dnssec-keygen"), let dsFromKey = Tool.find("dnssec-dsfromkey") else {
            throw XCTSkip("BIND's tools are missing")
        }
        let parentAddress = "127.0.0.\(base)", ns1 = "127.0.0.\(base + 1)", ns2 = "127.0.0.\(base + 2)"
        let agentPort = 15400 + base
        // The wildcard DSYNC (RFC 9859 §3) in RFC 3597 form, naming the agent on 127.0.0.1.
        let dsync = DSYNCData(rrType: .any, scheme: .update, port: UInt16(agentPort), target: try DomainName("agent.parent."))
        // NSD has no UPDATE: its delegations live in the fragment the zone file includes.
        let delegationText = "child.parent.\t3600\tIN\tNS\tns1.child.parent.\nns1.child.parent.\t3600\tIN\tA\t\(ns1)\n"
        let parentText =
            Lab.apex + """
                *._dsync.parent.\t3600\tIN\tTYPE66\t\\# \(dsync.rdata.count) \(dsync.rdata.map { String(format: "%02X", $0) }.joined())
                agent.parent.\t3600\tIN\tA\t127.0.0.1
                ns.provider.parent.\t3600\tIN\tA\t\(ns2)

                """ + (parentKind == .nsd ? "$INCLUDE \(LabServer.directoryPlaceholder)/\(Lab.fragmentName)\n" : delegationText)
        // A KSK (SEP bit) at the child's apex: the parent should hold its SHA-256 DS (the zone
        // is not signed; the DS is computed from the DNSKEY, RFC 4509).
        let ksk = try Tool.temporaryDirectory("child-ksk")
        defer { try? FileManager.default.removeItem(atPath: ksk) }
        let made = try Tool.run(dnssecKeygen, ["-q", "-a", "ED25519", "-f", "KSK", "child.parent."], directory: ksk)
        let kskBase = "\(ksk)/\(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
        let dnskey = try Record(
            String(contentsOfFile: kskBase + ".key", encoding: .utf8).split(separator: "\n").first { !$0.hasPrefix(";") }.map(String.init) ?? "")
        let expectedDS = Lab.key(try Record(Tool.run(dsFromKey, ["-2", kskBase + ".key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        // BIND starts signing a zone an UPDATE adds a DNSKEY to (and fails without the private
        // key), so its child zone has the KSK from the start; Knot and NSD get it later.
        let kskRecord = "child.parent. \(kind == .nsd ? "" : "1 ")IN DNSKEY \(dnskey.rdataPresentation)"
        let initial = ["child.parent. IN NS ns1.child.parent.", "ns1.child.parent. IN A \(ns1)"] + (kind == .bind ? [kskRecord] : [])

        let parent: LabServer =
            switch parentKind {
            case .bind: try LabServer.bind(zone: "parent.", zoneFileText: parentText, address: parentAddress, port: 15300 + base)
            case .knot: try LabServer.knot(zone: "parent.", zoneFileText: parentText, address: parentAddress, port: 15300 + base)
            case .nsd:
                try LabServer.nsd(
                    zone: "parent.", zoneFileText: parentText, address: parentAddress, port: 15300 + base, files: [Lab.fragmentName: delegationText])
            }
        defer { parent.stop() }
        let backend =
            parentKind == .nsd
            ? "{ type: nsd, zone-file: \(parent.zoneFile), fragment-file: \(parent.directory)/\(Lab.fragmentName), nsd-control-config: \(parent.configFile) }"
            : "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }"
        let childText = ChildZone.text(serial: 1, records: initial)
        // The child primary NOTIFYs `delegsync child watch` here after each change. It also
        // answers on ns2's address: the parent's agent asks every nameserver the child names
        // before it commits a change (content checks), so ns2 must really serve the zone.
        let watcher = (address: "127.0.0.1", port: 15700 + base)
        let server: LabServer =
            switch kind {
            case .bind: try LabServer.bind(zone: "child.parent.", zoneFileText: childText, address: ns1, port: 53, notify: watcher, alsoListenOn: [ns2])
            case .knot: try LabServer.knot(zone: "child.parent.", zoneFileText: childText, address: ns1, port: 53, notify: watcher, alsoListenOn: [ns2])
            case .nsd: try LabServer.nsd(zone: "child.parent.", zoneFileText: childText, address: ns1, port: 53, notify: watcher, alsoListenOn: [ns2])
            }
        defer { server.stop() }
        let zone = ChildZone(server: server, records: initial)
        // The receiver signs its replies with its own key; the child believes only those.
        let identityDirectory = try Tool.temporaryDirectory("agent-identity")
        defer { try? FileManager.default.removeItem(atPath: identityDirectory) }
        let identity = try Tool.run(ServeIntegrationTests.binary, ["keygen", "agent.parent.", "--directory", identityDirectory])
        let identityBase = "\(identityDirectory)/\(identity.stdout.split(separator: "\n")[0])"
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: agentPort,
            // The resolver gives the agent the address of ns.provider.parent. (outside the child).
            backend: backend
                + "\n    bootstrap: { rounds: 2, minimum-interval: 1, maximum-interval: 2, resolver: { address: \(parentAddress), port: \(parent.port) } }",
            importKey: false,
            identity: identityBase + ".private")
        defer {
            agent.stop()
            try? FileManager.default.removeItem(atPath: agent.directory)
        }

        let directory = try Tool.temporaryDirectory("child-agent")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = "\(directory)/child.yaml"
        let publish = server.tsigKeyFile.map { "{ type: rfc2136, tsig-key-file: \($0) }" } ?? "{ type: print }"
        try """
        version: 1
        store: { path: \(directory)/child.sqlite }
        key-directory: \(directory)/keys
        resolver: { address: \(parentAddress), port: \(parent.port) }
        watch: { listen: [{ address: 127.0.0.1, port: \(watcher.port) }], debounce: 1 }
        children:
          - name: child.parent.
            primary: { address: \(ns1), port: 53 }
            servers: [{ address: \(ns1), port: 53 }]
            publish: \(publish)
            parent-servers: [{ address: \(parentAddress), port: \(parent.port) }]
            receiver-key: \(identityBase).key
        """.write(toFile: config, atomically: true, encoding: .utf8)
        func run(_ arguments: String...) throws -> Tool.Result {
            try Tool.run(ServeIntegrationTests.binary, ["child"] + arguments + ["--config", config, "child.parent."])
        }
        func keyRecord(_ base: String) throws -> String {
            "child.parent. IN KEY " + (try BINDKeyFile.load(path: base + ".key").record.rdataPresentation)
        }

        let keygen = try run("keygen")
        XCTAssertEqual(keygen.status, 0, keygen.stderr)
        let firstKey = "\(directory)/keys/\(try ChildKeyFiles.list("\(directory)/keys")[0])"
        // Bootstrap before the KEY is published: refused here, naming the server.
        let early = try run("bootstrap", "--wait", "5", "--poll", "1")
        XCTAssertEqual(early.status, 2, early.stdout + early.stderr)
        XCTAssertTrue(early.stderr.contains("is not published at"), early.stderr)
        let published = try run("publish-key")
        XCTAssertEqual(published.status, 0, published.stdout + published.stderr)
        if kind == .nsd {
            XCTAssertTrue(published.stdout.contains("update add child.parent. 3600 IN KEY 512 3 15 "), published.stdout)
            try zone.change(add: [try keyRecord(firstKey)])
        }
        XCTAssertTrue(try server.dig(["+short", "child.parent.", "KEY"]).contains("512 3 15 "))

        // A child that expects another receiver key does not believe the answers.
        if kind == .bind && parentKind == .bind {
            let impostor = try Tool.run(ServeIntegrationTests.binary, ["keygen", "agent.parent.", "--directory", directory])
            let wrong = "\(directory)/wrong.yaml"
            try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
                of: "receiver-key: \(identityBase).key", with: "receiver-key: \(directory)/\(impostor.stdout.split(separator: "\n")[0]).key"
            ).write(toFile: wrong, atomically: true, encoding: .utf8)
            let unbelieved = try Tool.run(ServeIntegrationTests.binary, ["child", "bootstrap", "--wait", "5", "--config", wrong, "child.parent."])
            XCTAssertEqual(unbelieved.status, 1, unbelieved.stdout + unbelieved.stderr)
            XCTAssertTrue(unbelieved.stderr.contains("is not signed by the receiver's key"), unbelieved.stderr)
        }
        let bootstrap = try run("bootstrap", "--wait", "30", "--poll", "1")
        XCTAssertEqual(bootstrap.status, 0, bootstrap.stdout + bootstrap.stderr + agent.logText)
        XCTAssertTrue(bootstrap.stdout.contains("DSYNC"), bootstrap.stdout)
        XCTAssertTrue(bootstrap.stdout.contains("trusted: the parent trusts key"), bootstrap.stdout)

        // From here `delegsync child watch` runs. Each change to the child zone makes the primary
        // NOTIFY the watcher, which syncs: first a second nameserver with glue, then ns1 leaves
        // and a KSK appears (the parent drops ns1 and its glue and gets the KSK's DS).
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: ServeIntegrationTests.binary)
        watch.arguments = ["child", "watch", "--config", config]
        let watchLog = "\(directory)/watch.log"
        XCTAssertTrue(FileManager.default.createFile(atPath: watchLog, contents: nil), "cannot create \(watchLog)")
        watch.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: watchLog))
        watch.standardOutput = FileHandle.nullDevice
        try watch.run()
        defer {
            if watch.isRunning {
                watch.terminate()
                watch.waitUntilExit()
            }
        }
        func watchText() -> String { (try? String(contentsOfFile: watchLog, encoding: .utf8)) ?? "" }
        func served(until done: (Lab.Served) -> Bool) async throws -> Lab.Served {
            for _ in 0..<100 {
                let now = try Lab.served(parent)
                if done(now) { return now }
                try await Task.sleep(for: .milliseconds(200))
            }
            return try Lab.served(parent)
        }
        // Started and done with its first sync before the first change. For BIND children
        // (KSK from the start) that first sync already brings the DS.
        for _ in 0..<100 {
            if watchText().contains("sync of child.parent. (start-up) done") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try zone.change(add: ["child.parent. 1 IN NS ns2.child.parent.", "ns2.child.parent. 1 IN A \(ns2)"])
        var now = try await served { $0.ns.count == 2 }
        XCTAssertEqual(now.ns, ["child.parent. ns ns1.child.parent.", "child.parent. ns ns2.child.parent."], watchText())
        XCTAssertEqual(now.glue, ["ns1.child.parent. a \(ns1)", "ns2.child.parent. a \(ns2)"])
        XCTAssertEqual(now.ds, kind == .bind ? [expectedDS] : [])

        try zone.change(
            add: kind == .bind ? [] : [kskRecord], delete: kind == .nsd ? ["child.parent. IN NS ns1.child.parent."] : ["child.parent. NS ns1.child.parent."])
        now = try await served { $0.ns.count == 1 && $0.ds.count == 1 }
        XCTAssertEqual(now.ns, ["child.parent. ns ns2.child.parent."], watchText())
        XCTAssertEqual(now.glue, ["ns2.child.parent. a \(ns2)"])
        XCTAssertEqual(now.ds, [expectedDS])
        // The parent may serve the change before the watcher has read the reply and logged it.
        for _ in 0..<50 where watchText().components(separatedBy: "(NOTIFY) done: applied").count - 1 < 2 {
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(watchText().components(separatedBy: "(NOTIFY) done: applied").count - 1, 2, watchText())
        watch.terminate()
        watch.waitUntilExit()
        XCTAssertEqual(watch.terminationStatus, 0, watchText())

        // Without the watcher: `sync --dry-run` shows the UPDATE and sends nothing, `sync` sends
        // it, a second `sync` finds nothing to do. The new NS is outside the child (no glue); the
        // parent zone has its address, pointing at the child's server.
        try zone.change(add: ["child.parent. \(kind == .nsd ? "" : "1 ")IN NS ns.provider.parent."])
        let dry = try run("sync", "--dry-run")
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("update add child.parent. 3600 IN NS ns.provider.parent."), dry.stdout)
        XCTAssertFalse(dry.stdout.contains("provider.parent. 3600 IN A"), dry.stdout)
        XCTAssertEqual(try Lab.served(parent).ns.count, 1, "--dry-run sent something")
        let sync = try run("sync")
        XCTAssertEqual(sync.status, 0, sync.stdout + sync.stderr + agent.logText)
        XCTAssertTrue(sync.stdout.contains("applied: the parent committed the change"), sync.stdout)
        now = try Lab.served(parent)
        XCTAssertEqual(now.ns, ["child.parent. ns ns2.child.parent.", "child.parent. ns ns.provider.parent."])
        XCTAssertEqual(now.glue, ["ns2.child.parent. a \(ns2)"])
        let again = try run("sync")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("in step"), again.stdout)

        // Rollover: the new key is added (old key's signature), the old one deleted (new key's
        // signature), unpublished and retired. The old key no longer works at the parent.
        let before = try ChildKeyFiles.list("\(directory)/keys")
        XCTAssertEqual(before.count, 1)
        let firstRecord = try keyRecord(firstKey)
        let roll = try run("roll")
        XCTAssertEqual(roll.status, 0, roll.stdout + roll.stderr + agent.logText)
        XCTAssertTrue(roll.stdout.contains("rolled: key"), roll.stdout)
        let after = try ChildKeyFiles.list("\(directory)/keys")
        XCTAssertEqual(after.count, 1)
        XCTAssertNotEqual(after, before)
        let oldKey = try BINDKeyFile.load(path: "\(directory)/keys/retired/\(before[0]).private")
        let newKey = try BINDKeyFile.load(path: "\(directory)/keys/\(after[0]).private")
        if kind == .nsd {
            // publish: print — the operator swaps the keys in the zone file.
            try zone.change(add: [try keyRecord("\(directory)/keys/\(after[0])")], delete: [firstRecord])
        }
        let childKeys = try server.dig(["+short", "child.parent.", "KEY"]).split(separator: "\n")
        XCTAssertEqual(childKeys.count, 1, "\(childKeys)")
        XCTAssertEqual(
            childKeys.first.map { $0.replacingOccurrences(of: " ", with: "") }, newKey.record.rdataPresentation.replacingOccurrences(of: " ", with: ""))
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
        XCTAssertFalse(try Lab.served(parent).ns.contains("child.parent. ns ns9.child.parent."))
        // The new key signs the next sync.
        let afterRoll = try run("sync")
        XCTAssertEqual(afterRoll.status, 0, afterRoll.stderr)

        let agentUp = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config])
        XCTAssertEqual(agentUp.status, 0, agentUp.stdout + agentUp.stderr)
        XCTAssertTrue(agentUp.stdout.contains("agent: up, answering on 127.0.0.1 port \(agentPort)"), agentUp.stdout)

        let status = try run("status")
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("key \(newKey.keyTag) (ED25519): trusted at the parent"), status.stdout)
        XCTAssertTrue(status.stdout.contains("now: parent and child agree"), status.stdout)
    }
}

/// The key pairs in a child agent's key directory, by base name.
enum ChildKeyFiles {
    static func list(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".private") }.map { String($0.dropLast(8)) }.sorted()
    }
}

extension ChildLifecycleIntegrationTests {
    /// Sync and bootstrap when the parent cannot be reached, does not know the key (BADKEY),
    /// or refuses (key known, not yet trusted): bounded retries, the documented exit codes
    /// (1 unreachable, 3 pending, 4 refused) and a message that says what happened.
    func testUnreachableBADKEYAndRefusedParent() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let base = 200
        let parentAddress = "127.0.0.\(base)", ns1 = "127.0.0.\(base + 1)"
        let agentPort = 15400 + base
        let parent = try LabServer.bind(
            zone: "parent.",
            zoneFileText: Lab.apex + "child.parent.\t3600\tIN\tNS\tns1.child.parent.\nns1.child.parent.\t3600\tIN\tA\t\(ns1)\n",
            address: parentAddress, port: 15300 + base)
        defer { parent.stop() }
        let server = try LabServer.bind(
            zone: "child.parent.",
            zoneFileText: ChildZone.text(
                serial: 1,
                records: [
                    "child.parent. IN NS ns1.child.parent.", "child.parent. IN NS ns2.child.parent.", "ns1.child.parent. IN A \(ns1)",
                    "ns2.child.parent. IN A \(ns1)",
                ]),
            address: ns1, port: 53)
        defer { server.stop() }
        // Rounds far apart: the job stays pending for the whole test.
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: agentPort,
            backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }\n    bootstrap: { rounds: 2, minimum-interval: 600 }", importKey: false)
        defer {
            agent.stop()
            try? FileManager.default.removeItem(atPath: agent.directory)
        }
        let directory = try Tool.temporaryDirectory("child-agent")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func configure(targetPort: Int) throws -> String {
            let config = "\(directory)/child-\(targetPort).yaml"
            try """
            version: 1
            store: { path: \(directory)/child.sqlite }
            key-directory: \(directory)/keys
            children:
              - name: child.parent.
                primary: { address: \(ns1), port: 53 }
                publish: { type: rfc2136, tsig-key-file: \(server.tsigKeyFile!) }
                target: { address: 127.0.0.1, port: \(targetPort) }
                parent-servers: [{ address: \(parentAddress), port: \(parent.port) }]
            """.write(toFile: config, atomically: true, encoding: .utf8)
            return config
        }
        let good = try configure(targetPort: agentPort), nowhere = try configure(targetPort: agentPort + 50)
        func run(_ config: String, _ arguments: String...) throws -> Tool.Result {
            try Tool.run(ServeIntegrationTests.binary, ["child"] + arguments + ["--config", config, "child.parent."])
        }
        XCTAssertEqual(try run(good, "keygen").status, 0)
        XCTAssertEqual(try run(good, "publish-key").status, 0)

        // Nobody listens at the target: two attempts, then exit 1.
        let unreachable = try run(nowhere, "sync", "--attempts", "2")
        XCTAssertEqual(unreachable.status, 1, unreachable.stdout + unreachable.stderr)
        XCTAssertTrue(unreachable.stderr.contains("gave up after 2 attempts"), unreachable.stderr)
        XCTAssertEqual(unreachable.stdout.components(separatedBy: "sending to").count - 1, 2, unreachable.stdout)

        // The parent does not know the key: BADKEY, one new bootstrap upload, exit 3.
        let badKey = try run(good, "sync")
        XCTAssertEqual(badKey.status, 3, badKey.stdout + badKey.stderr)
        XCTAssertTrue(badKey.stderr.contains("its bootstrap started again"), badKey.stderr)
        let jobs = try Tool.run(ServeIntegrationTests.binary, ["keys", "pending", "--config", agent.config]).stdout
        let status = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout
        XCTAssertTrue(status.contains("next: round 2 of 2") || status.contains("round 1 of 2"), status + jobs)

        // Known but not yet trusted: REFUSED with the draft's EDE, exit 4, nothing changes.
        let refused = try run(good, "sync")
        XCTAssertEqual(refused.status, 4, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("known but not yet trusted"), refused.stderr)
        XCTAssertEqual(try Lab.served(parent).ns, ["child.parent. ns ns1.child.parent."])

        // Following the bootstrap for a short while: still pending, exit 3.
        let pending = try run(good, "bootstrap", "--wait", "2", "--poll", "1")
        XCTAssertEqual(pending.status, 3, pending.stdout + pending.stderr)
        XCTAssertTrue(pending.stdout.contains("pending: key"), pending.stdout)
    }
}
