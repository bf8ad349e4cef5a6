import DNSWire
import Foundation
import Store
import TestSupport
import Transport
import XCTest

/// The NOTIFY scheme against real servers on loopback (shared/LAB.md, "DNSSEC in the lab"):
/// children signed by the servers' own signing, a BIND parent with `delegsync serve` in front,
/// NOTIFY(CDS/CSYNC) sent to the agent, and `dig` at the parent for the result.
///
/// Addresses 127.0.0.200–229, ports 15600–15699 (nameservers of children on port 53).
final class ScannerIntegrationTests: XCTestCase {
    static let scanner = "{ enabled: true, interval: 0, bootstrap-days: 0, bootstrap-scans: 1 }"

    /// A key for BIND's control channel and dynamic updates.
    static func bindKey(_ name: String) -> String {
        var secret = [UInt8](repeating: 0, count: 32)
        for index in secret.indices { secret[index] = UInt8.random(in: 0...255) }
        return "key \"\(name)\" {\n\talgorithm hmac-sha256;\n\tsecret \"\(Data(secret).base64EncodedString())\";\n};\n"
    }

    /// named.conf of zones signed by `dnssec-policy` (dynamic zones, signed in place), with a
    /// control channel: the timings are short so that CDS appears within seconds. The first zone
    /// is in `{DIR}/zone.db`, the others in `{DIR}/NAME.db`.
    static func signingBIND(zones: [String], addresses: [String], control: Int, policy: String) -> String {
        let statements = zones.enumerated().map { index, zone in
            """
            zone "\(zone)" {
                type primary;
                file "{DIR}/\(index == 0 ? "zone." : zone)db";
                key-directory "{DIR}";
                dnssec-policy "\(policy)";
                inline-signing no;
                allow-update { key "lab-key"; };
            };
            """
        }
        return """
            include "{DIR}/lab.key";
            options {
                directory "{DIR}";
                pid-file "{DIR}/named.pid";
                session-keyfile "{DIR}/session.key";
                managed-keys-directory "{DIR}";
                listen-on port 53 { \(addresses.map { "\($0);" }.joined(separator: " ")) };
                listen-on-v6 { none; };
                recursion no;
                dnssec-validation no;
                notify no;
                allow-transfer { any; };
            };
            controls { inet \(addresses[0]) port \(control) allow { 127.0.0.0/8; } keys { "lab-key"; }; };
            dnssec-policy "lab" {
                keys { ksk lifetime unlimited algorithm 13; zsk lifetime unlimited algorithm 13; };
                dnskey-ttl 5;
                publish-safety 1;
                retire-safety 1;
                purge-keys 0;
                max-zone-ttl 5;
                zone-propagation-delay 1;
                parent-ds-ttl 5;
                parent-propagation-delay 1;
            };
            \(statements.joined(separator: "\n"))

            """
    }

    /// A child zone served by ns1 and ns2 (in-bailiwick, with their addresses), TTL 5.
    static func childZone(_ zone: String, ns1: String, ns2: String) -> String {
        """
        $TTL 5
        \(zone) IN SOA ns1.\(zone) hostmaster.\(zone) 1 3600 900 604800 5
        \(zone) IN NS ns1.\(zone)
        \(zone) IN NS ns2.\(zone)
        ns1.\(zone) IN A \(ns1)
        ns2.\(zone) IN A \(ns2)

        """
    }

    /// The parent's delegation of that child: NS ns1 and ns2 with glue, no DS.
    static func delegation(_ zone: String, ns1: String, ns2: String) -> String {
        "\(zone)\t3600\tIN\tNS\tns1.\(zone)\n\(zone)\t3600\tIN\tNS\tns2.\(zone)\nns1.\(zone)\t3600\tIN\tA\t\(ns1)\nns2.\(zone)\t3600\tIN\tA\t\(ns2)\n"
    }

    /// Polls `condition` every half second for at most `seconds`.
    static func wait(_ what: String, seconds: Double = 60, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        XCTFail("timed out waiting for \(what)")
        throw ToolError("timed out waiting for \(what)")
    }

    /// Key tags of the CDS RRset `server` serves for `zone` (`0` for the delete signal).
    static func cdsTags(_ server: LabServer, _ zone: String) throws -> Set<String> {
        Set(try server.dig(["+short", zone, "CDS"]).split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    /// Key tags of the DS RRset the parent serves for `zone`.
    static func dsTags(_ parent: LabServer, _ zone: String) throws -> Set<String> {
        Set(try Lab.records(parent, zone, "DS").records.filter { $0.type == .ds }.compactMap { try? DSData(rdata: $0.rdata) }.map { String($0.keyTag) })
    }

    /// NOTIFY(type) for `zone` to the agent, over UDP: answered NOERROR.
    static func notify(_ agent: ServeIntegrationTests.Agent, _ zone: String, _ type: RRType) async throws {
        var header = Header()
        header.id = .random(in: 0...UInt16.max)
        header.opcode = .notify
        header.aa = true
        let request = try Message(header: header, question: [Question(name: DomainName(zone), type: type)], edns: EDNS()).wireFormat()
        let reply = try Message(wire: await DNSClient(timeout: .seconds(5)).exchange(request, host: "127.0.0.1", port: agent.port, transport: .udp))
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
    }

    /// The agent's last scan result for `zone`, from its store.
    static func lastScan(_ agent: ServeIntegrationTests.Agent, _ zone: String) throws -> ScanState? {
        try SQLiteStore(path: "\(agent.directory)/state.sqlite").scanState(zone: DomainName("parent."), child: DomainName(zone))
    }

    /// The zone as `server` serves it, by AXFR, in zone-file form (for a copy on another server).
    static func transfer(_ server: LabServer, _ zone: String) throws -> String {
        try server.dig(["+onesoa", "+nocomments", "+nostats", "+nocmd", zone, "AXFR"])
    }

    /// BIND child `bchild.parent.` signed by `dnssec-policy` on ns1 (and ns3), a copy of it on NSD
    /// as ns2, BIND parent: the first DS (RFC 8078 with a delay of 0), a KSK rollover ending with
    /// the new DS at the parent, an inconsistent ns2 changing nothing, CSYNC `immediate` adding
    /// ns3, and the delete signal removing the DS.
    func testBINDChildRolloverInconsistencyCSYNCAndDelete() async throws {
        for kind in [LabServer.Kind.bind, .nsd] { try Lab.skipUnlessAvailable(kind) }
        guard let rndc = Tool.find("rndc"), let nsupdate = Tool.find("nsupdate") else { throw XCTSkip("rndc or nsupdate is not installed") }
        let zone = "bchild.parent."
        let ns1 = "127.0.0.201", ns2 = "127.0.0.202", ns3 = "127.0.0.203", parentAddress = "127.0.0.200"
        let control = 15602
        let key = Self.bindKey("lab-key")
        let childText = Self.childZone(zone, ns1: ns1, ns2: ns2)
        let child = try LabServer.custom(
            kind: .bind, zone: zone, zoneFileText: childText, address: ns1, port: 53,
            config: Self.signingBIND(zones: [zone], addresses: [ns1, ns3], control: control, policy: "lab"), files: ["lab.key": key], alsoListenOn: [ns3])
        defer { child.stop() }
        let keyFile = "\(child.directory)/lab.key"
        func rndcRun(_ arguments: [String]) throws -> String {
            let result = try Tool.run(rndc, ["-s", ns1, "-p", "\(control)", "-k", keyFile] + arguments)
            // rndc exits 0 even when it prints an error (LAB.md): read its output.
            XCTAssertFalse(result.stdout.contains("failed") || result.stderr.contains("failed"), result.stdout + result.stderr)
            return result.stdout + result.stderr
        }
        try await Self.wait("BIND to publish CDS", seconds: 90) { !(try Self.cdsTags(child, zone)).isEmpty }
        let firstKSK = try Self.cdsTags(child, zone)
        XCTAssertEqual(firstKSK.count, 1)

        let copy = try LabServer.nsd(zone: zone, zoneFileText: try Self.transfer(child, zone), address: ns2, port: 53)
        defer { copy.stop() }
        func refreshCopy() throws { try copy.reload(zoneFileText: try Self.transfer(child, zone)) }

        let delegation = Self.delegation(zone, ns1: ns1, ns2: ns2)
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.apex + delegation, address: parentAddress, port: 15600)
        defer { parent.stop() }
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: 15601, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }", importKey: false, scanner: Self.scanner)
        defer { agent.stop() }

        // 1. The first DS: an unsigned delegation whose child publishes CDS signed by its key.
        try await Self.notify(agent, zone, .cds)
        try await Self.wait("the first DS at the parent") { try Self.dsTags(parent, zone) == firstKSK }
        _ = try rndcRun(["dnssec", "-checkds", "-key", firstKSK.first!, "published", zone])

        // 2. KSK rollover at the child: BIND introduces a new KSK and its CDS.
        _ = try rndcRun(["dnssec", "-rollover", "-key", firstKSK.first!, zone])
        try await Self.wait("the CDS of the new KSK", seconds: 90) {
            let tags = try Self.cdsTags(child, zone)
            return !tags.isEmpty && tags != firstKSK
        }
        let newKSK = try Self.cdsTags(child, zone)

        // 3. ns2 still serves the old copy: nothing changes, and the agent says why.
        try await Self.notify(agent, zone, .cds)
        try await Self.wait("the inconsistent scan", seconds: 30) { try Self.lastScan(agent, zone)?.lastResult.contains("cds-inconsistent") == true }
        let inconsistent = try XCTUnwrap(try Self.lastScan(agent, zone)?.lastResult)
        XCTAssertTrue(inconsistent.contains(ns2) && inconsistent.contains("RFC 9975"), inconsistent)
        XCTAssertEqual(try Self.dsTags(parent, zone), firstKSK)

        // 4. ns2 catches up: the new DS replaces the old one. This NOTIFY comes from the child
        // agent (`delegsync child notify`), as a child's operator would send it.
        try refreshCopy()
        let childConfig = "\(agent.directory)/child.yaml"
        try """
        version: 1
        store: { path: \(agent.directory)/child.sqlite }
        children:
          - name: \(zone)
            primary: { address: \(ns1) }
            target: { address: 127.0.0.1, port: \(agent.port) }

        """.write(toFile: childConfig, atomically: true, encoding: .utf8)
        let notified = try Tool.run(ServeIntegrationTests.binary, ["child", "notify", "--config", childConfig, zone, "--type", "cds"])
        XCTAssertEqual(notified.status, 0, notified.stdout + notified.stderr)
        XCTAssertTrue(notified.stdout.contains("notified: the parent answered NOERROR"), notified.stdout)
        try await Self.wait("the new DS at the parent") { try Self.dsTags(parent, zone) == newKSK }
        XCTAssertEqual(try Self.dsTags(parent, zone), newKSK, agent.logText)

        // 5. CSYNC immediate: the child adds ns3 with its address; the parent follows.
        let update = """
            server \(ns1) 53
            zone \(zone)
            update add bchild.parent. 5 IN NS ns3.bchild.parent.
            update add ns3.bchild.parent. 5 IN A \(ns3)
            update add bchild.parent. 5 IN CSYNC 0 1 A NS AAAA
            send

            """
        let updated = try Tool.run(nsupdate, ["-k", keyFile], input: Data(update.utf8))
        XCTAssertEqual(updated.status, 0, updated.stdout + updated.stderr)
        try await Self.wait("BIND to sign the CSYNC", seconds: 30) { try child.dig(["+short", zone, "CSYNC"]).contains("0 1 A NS AAAA") }
        try refreshCopy()
        let csync = try Tool.run(ServeIntegrationTests.binary, ["child", "notify", "--config", childConfig, zone, "--type", "csync"])
        XCTAssertEqual(csync.status, 0, csync.stdout + csync.stderr)
        try await Self.wait("ns3 at the parent") {
            try Lab.records(parent, zone, "NS").records.contains { $0.type == .ns && $0.rdataPresentation == "ns3.bchild.parent." }
        }
        let glue = try Lab.records(parent, zone, "NS").records.filter { $0.type == .a }.map(\.rdataPresentation)
        XCTAssertEqual(Set(glue), [ns1, ns2, ns3])
        XCTAssertEqual(try Self.dsTags(parent, zone), newKSK, "CSYNC leaves the DS alone")

        // 6. The delete signal: the child goes insecure (dnssec-policy "insecure").
        try Self.signingBIND(zones: [zone], addresses: [ns1, ns3], control: control, policy: "insecure")
            .replacingOccurrences(of: LabServer.directoryPlaceholder, with: child.directory).write(toFile: child.configFile, atomically: true, encoding: .utf8)
        _ = try rndcRun(["reconfig"])
        try await Self.wait("the delete signal", seconds: 60) { try Self.cdsTags(child, zone) == ["0"] }
        try refreshCopy()
        try await Self.notify(agent, zone, .cds)
        try await Self.wait("the DS to go") { try Self.dsTags(parent, zone).isEmpty }
        let audit = try SQLiteStore(path: "\(agent.directory)/state.sqlite").audit(child: DomainName(zone), limit: 50)
        XCTAssertTrue(
            audit.contains { $0.transport == "scan" && $0.reason.contains("RFC 8078 §4") && $0.decision == "NOERROR" },
            audit.map(\.reason).joined(separator: "\n"))
    }

    /// knot.conf of a child signed by Knot's automatic signing, CDS/CDNSKEY published always
    /// (`cds` `always`) or the delete signal (`delete-dnssec`), short timings.
    static func signingKnot(zone: String, addresses: [String], cds: String) -> String {
        """
        server:
            rundir: "{DIR}"
            listen: [\(addresses.map { "\($0)@53" }.joined(separator: ", "))]
            user: root
        database:
            storage: "{DIR}"
        log:
          - target: stderr
            any: info
        policy:
          - id: lab
            algorithm: ecdsap256sha256
            ksk-lifetime: 0
            zsk-lifetime: 0
            dnskey-ttl: 5
            zone-max-ttl: 5
            propagation-delay: 1
            cds-cdnskey-publish: \(cds)
        zone:
          - domain: \(zone)
            file: "{DIR}/zone.db"
            storage: "{DIR}"
            zonefile-sync: -1
            zonefile-load: difference-no-serial
            journal-content: all
            dnssec-signing: on
            dnssec-policy: lab

        """
    }

    /// Knot child `kchild.parent.` on two addresses with automatic signing, a parent of `kind`
    /// (Knot with RFC 2136, NSD with the fragment): the first DS, a KSK rollover (`knotc
    /// zone-key-rollover`) ending with the new DS at the parent, the delete signal removing it.
    func knotChild(parentKind: LabServer.Kind, base: Int) async throws {
        for kind in [LabServer.Kind.knot, parentKind] { try Lab.skipUnlessAvailable(kind) }
        let zone = "kchild.parent."
        let ns1 = "127.0.0.\(base)", ns2 = "127.0.0.\(base + 1)", parentAddress = "127.0.0.\(base + 2)"
        let childText = Self.childZone(zone, ns1: ns1, ns2: ns2)
        let child = try LabServer.custom(
            kind: .knot, zone: zone, zoneFileText: childText, address: ns1, port: 53,
            config: Self.signingKnot(zone: zone, addresses: [ns1, ns2], cds: "always"),
            alsoListenOn: [ns2])
        defer { child.stop() }
        func knotc(_ arguments: [String]) throws {
            let result = try Tool.run("/usr/sbin/knotc", ["-c", child.configFile] + arguments)
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        }
        try await Self.wait("Knot to publish CDS", seconds: 60) { !(try Self.cdsTags(child, zone)).isEmpty }
        let firstKSK = try Self.cdsTags(child, zone)

        let delegation = Self.delegation(zone, ns1: ns1, ns2: ns2)
        let parent: LabServer
        let backend: String
        switch parentKind {
        case .nsd:
            parent = try LabServer.nsd(
                zone: "parent.", zoneFileText: Lab.nsdZoneText, address: parentAddress, port: 15600 + base - 200, files: [Lab.fragmentName: delegation])
            backend =
                "{ type: nsd, zone-file: \(parent.zoneFile), fragment-file: \(parent.directory)/\(Lab.fragmentName), nsd-control-config: \(parent.configFile) }"
        default:
            parent = try LabServer.knot(zone: "parent.", zoneFileText: Lab.apex + delegation, address: parentAddress, port: 15600 + base - 200)
            backend = "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }"
        }
        defer { parent.stop() }
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: 15601 + base - 200, backend: backend, importKey: false, scanner: Self.scanner)
        defer { agent.stop() }

        try await Self.notify(agent, zone, .cds)
        try await Self.wait("the first DS at the parent") { try Self.dsTags(parent, zone) == firstKSK }

        try knotc(["zone-key-rollover", zone, "ksk"])
        try await Self.wait("the CDS of the new KSK", seconds: 60) {
            let tags = try Self.cdsTags(child, zone)
            return !tags.isEmpty && tags != firstKSK
        }
        let newKSK = try Self.cdsTags(child, zone)
        try await Self.notify(agent, zone, .cds)
        try await Self.wait("the new DS at the parent") { try Self.dsTags(parent, zone) == newKSK }
        XCTAssertEqual(try Self.dsTags(parent, zone), newKSK, agent.logText)

        try Self.signingKnot(zone: zone, addresses: [ns1, ns2], cds: "delete-dnssec")
            .replacingOccurrences(of: LabServer.directoryPlaceholder, with: child.directory).write(toFile: child.configFile, atomically: true, encoding: .utf8)
        try knotc(["reload"])
        try await Self.wait("the delete signal", seconds: 60) { try Self.cdsTags(child, zone) == ["0"] }
        try await Self.notify(agent, zone, .cds)
        try await Self.wait("the DS to go") { try Self.dsTags(parent, zone).isEmpty }
    }

    func testKnotChildWithKnotParent() async throws {
        try await knotChild(parentKind: .knot, base: 210)
    }

    func testKnotChildWithNSDParent() async throws {
        try await knotChild(parentKind: .nsd, base: 215)
    }

    /// RFC 9615: an unsigned delegation to `ns1.example.` (outside the child). Without signals the
    /// first DS waits for the configured days; once `example.` — signed, validated from the
    /// anchor file — publishes `_dsboot.uchild.parent._signal.ns1.example.` CDS and CDNSKEY equal
    /// to the apex's, the DS is accepted at once. One BIND serves both zones (and answers the
    /// agent's lookups as its `bootstrap.resolver`); a BIND parent.
    func testRFC9615SignalsAcceptTheFirstDSAtOnce() async throws {
        try Lab.skipUnlessAvailable(.bind)
        guard let nsupdate = Tool.find("nsupdate") else { throw XCTSkip("nsupdate is not installed") }
        let zone = "uchild.parent.", server = "127.0.0.206", parentAddress = "127.0.0.207"
        let key = Self.bindKey("lab-key")
        let childText = """
            $TTL 5
            uchild.parent. IN SOA ns1.example. hostmaster.example. 1 3600 900 604800 5
            uchild.parent. IN NS ns1.example.

            """
        let example = """
            $TTL 5
            example. IN SOA ns1.example. hostmaster.example. 1 3600 900 604800 5
            example. IN NS ns1.example.
            ns1.example. IN A \(server)

            """
        let bind = try LabServer.custom(
            kind: .bind, zone: zone, zoneFileText: childText, address: server, port: 53,
            config: Self.signingBIND(zones: [zone, "example."], addresses: [server], control: 15609, policy: "lab"),
            files: ["lab.key": key, "example.db": example])
        defer { bind.stop() }
        try await Self.wait("BIND to publish CDS", seconds: 90) { !(try Self.cdsTags(bind, zone)).isEmpty }
        let ksk = try Self.cdsTags(bind, zone)
        // The anchor: the KSK of example., as `dig example. DNSKEY` prints it.
        let anchorFile = "\(bind.directory)/example.anchor"
        let answer = try bind.dig(["+noall", "+answer", "example.", "DNSKEY"])
        let keys = answer.split(separator: "\n").filter { $0.contains("DNSKEY\t257") || $0.contains("DNSKEY 257") }
        XCTAssertEqual(keys.count, 1, answer)
        try (keys.joined(separator: "\n") + "\n").write(toFile: anchorFile, atomically: true, encoding: .utf8)

        let delegation = "uchild.parent.\t3600\tIN\tNS\tns1.example.\n"
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.apex + delegation, address: parentAddress, port: 15607)
        defer { parent.stop() }
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: 15608, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }", importKey: false,
            scanner: "{ enabled: true, interval: 0, trust-anchor-file: \(anchorFile) }\n    bootstrap: { resolver: { address: \(server) } }")
        defer { agent.stop() }

        // No signal yet: the RFC 8078 delay (3 days by default) applies.
        try await Self.notify(agent, zone, .cds)
        try await Self.wait("the first scan", seconds: 30) { try Self.lastScan(agent, zone) != nil }
        let waiting = try XCTUnwrap(try Self.lastScan(agent, zone))
        XCTAssertTrue(waiting.lastResult.contains("waiting") && waiting.lastResult.contains("no RFC 9615 signal"), waiting.lastResult)
        XCTAssertEqual(waiting.bootstrap?.scans, 1)
        XCTAssertEqual(try Self.dsTags(parent, zone), [])

        // The provider publishes the signals in its signed zone: accepted at once.
        let cds = try bind.dig(["+short", zone, "CDS"]).split(separator: "\n").map { "update add _dsboot.uchild.parent._signal.ns1.example. 5 IN CDS \($0)" }
        let cdnskey = try bind.dig(["+short", zone, "CDNSKEY"]).split(separator: "\n").map {
            "update add _dsboot.uchild.parent._signal.ns1.example. 5 IN CDNSKEY \($0)"
        }
        let script = (["server \(server) 53", "zone example."] + cds + cdnskey + ["send", ""]).joined(separator: "\n")
        let updated = try Tool.run(nsupdate, ["-k", "\(bind.directory)/lab.key"], input: Data(script.utf8))
        XCTAssertEqual(updated.status, 0, updated.stdout + updated.stderr)
        try await Self.wait("the signals") { !(try bind.dig(["+short", "_dsboot.uchild.parent._signal.ns1.example.", "CDS"])).isEmpty }
        try await Self.notify(agent, zone, .cds)
        try await Self.wait("the first DS at the parent") { try Self.dsTags(parent, zone) == ksk }
        let accepted = try XCTUnwrap(try Self.lastScan(agent, zone))
        XCTAssertTrue(accepted.lastResult.contains("RFC 9615"), accepted.lastResult)
    }
}
