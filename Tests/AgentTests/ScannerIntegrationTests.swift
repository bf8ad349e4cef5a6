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
/// Addresses 127.0.0.200–229, ports 15600–15699 and 16120–16139 (nameservers of children on port 53).
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

    /// The parent zone `parent.` on a server of `kind` with `delegation`, and the agent's backend
    /// for it: RFC 2136 with TSIG for BIND and Knot, the included fragment for NSD.
    static func parent(_ kind: LabServer.Kind, delegation: String, address: String, port: Int) throws -> (server: LabServer, backend: String) {
        switch kind {
        case .nsd:
            let parent = try LabServer.nsd(
                zone: "parent.", zoneFileText: Lab.nsdZoneText, address: address, port: port, files: [Lab.fragmentName: delegation])
            return (
                parent,
                "{ type: nsd, zone-file: \(parent.zoneFile), fragment-file: \(parent.directory)/\(Lab.fragmentName), nsd-control-config: \(parent.configFile) }"
            )
        case .knot:
            let parent = try LabServer.knot(zone: "parent.", zoneFileText: Lab.apex + delegation, address: address, port: port)
            return (parent, "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }")
        case .bind:
            let parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.apex + delegation, address: address, port: port)
            return (parent, "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }")
        }
    }

    /// A child zone signed by its own server: BIND with `dnssec-policy` (rndc on `control`) or
    /// Knot with automatic signing (CDS/CDNSKEY always), on port 53 of every address; and the
    /// operator's steps the scenarios need, done the way each server does them.
    struct SignedChild {
        let kind: LabServer.Kind
        let zone: String
        let addresses: [String]
        let control: Int
        let server: LabServer

        init(_ kind: LabServer.Kind, zone: String, zoneText: String, addresses: [String], control: Int) throws {
            self.kind = kind
            self.zone = zone
            self.addresses = addresses
            self.control = control
            server = try LabServer.custom(
                kind: kind, zone: zone, zoneFileText: zoneText, address: addresses[0], port: 53,
                config: Self.config(kind, zone, addresses, control, secure: true),
                files: kind == .bind ? ["lab.key": ScannerIntegrationTests.bindKey("lab-key")] : [:], alsoListenOn: Array(addresses.dropFirst()))
        }

        static func config(_ kind: LabServer.Kind, _ zone: String, _ addresses: [String], _ control: Int, secure: Bool) -> String {
            kind == .bind
                ? ScannerIntegrationTests.signingBIND(zones: [zone], addresses: addresses, control: control, policy: secure ? "lab" : "insecure")
                : ScannerIntegrationTests.signingKnot(zone: zone, addresses: addresses, cds: secure ? "always" : "delete-dnssec")
        }

        /// BIND's key for rndc and nsupdate.
        var keyFile: String { "\(server.directory)/lab.key" }

        func stop() { server.stop() }

        /// `rndc` against the BIND child; its output (rndc exits 0 even when it prints an error:
        /// LAB.md, so the output is read).
        @discardableResult
        func rndc(_ arguments: [String]) throws -> String {
            guard let rndc = Tool.find("rndc") else { throw XCTSkip("rndc is not installed") }
            let result = try Tool.run(rndc, ["-s", addresses[0], "-p", "\(control)", "-k", keyFile] + arguments)
            XCTAssertFalse(result.stdout.contains("failed") || result.stderr.contains("failed"), result.stdout + result.stderr)
            return result.stdout + result.stderr
        }

        func knotc(_ arguments: [String]) throws {
            let result = try Tool.run("/usr/sbin/knotc", ["-c", server.configFile] + arguments)
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        }

        /// The parent serves the DS of `ksk`: BIND is told (`rndc dnssec -checkds`), Knot needs
        /// nothing for a manual rollover.
        func dsPublished(_ ksk: String) throws {
            if kind == .bind { try rndc(["dnssec", "-checkds", "-key", ksk, "published", zone]) }
        }

        /// Starts a KSK rollover; the new KSK's CDS follows within seconds.
        func rollKSK(_ ksk: String) throws {
            if kind == .bind { try rndc(["dnssec", "-rollover", "-key", ksk, zone]) } else { try knotc(["zone-key-rollover", zone, "ksk"]) }
        }

        /// The child goes insecure: the delete signal `CDS 0 0 0 00` (RFC 8078 §4).
        func publishDeleteSignal() throws {
            try Self.config(kind, zone, addresses, control, secure: false)
                .replacingOccurrences(of: LabServer.directoryPlaceholder, with: server.directory).write(
                    toFile: server.configFile, atomically: true, encoding: .utf8)
            if kind == .bind { try rndc(["reconfig"]) } else { try knotc(["reload"]) }
        }
    }

    /// BIND child `bchild.parent.` signed by `dnssec-policy` on ns1 (and ns3), a copy of it on NSD
    /// as ns2, BIND parent: the first DS (RFC 8078 with a delay of 0), a KSK rollover ending with
    /// the new DS at the parent, an inconsistent ns2 changing nothing, CSYNC `immediate` adding
    /// ns3, and the delete signal removing the DS.
    func testBINDChildRolloverInconsistencyCSYNCAndDelete() async throws {
        for kind in [LabServer.Kind.bind, .nsd] { try Lab.skipUnlessAvailable(kind) }
        guard let nsupdate = Tool.find("nsupdate") else { throw XCTSkip("nsupdate is not installed") }
        let zone = "bchild.parent."
        let ns1 = "127.0.0.201", ns2 = "127.0.0.202", ns3 = "127.0.0.203", parentAddress = "127.0.0.200"
        let signed = try SignedChild(.bind, zone: zone, zoneText: Self.childZone(zone, ns1: ns1, ns2: ns2), addresses: [ns1, ns3], control: 15602)
        defer { signed.stop() }
        let child = signed.server
        let keyFile = signed.keyFile
        try await Self.wait("BIND to publish CDS", seconds: 90) { !(try Self.cdsTags(child, zone)).isEmpty }
        let firstKSK = try Self.cdsTags(child, zone)
        XCTAssertEqual(firstKSK.count, 1)

        let copy = try LabServer.nsd(zone: zone, zoneFileText: try Self.transfer(child, zone), address: ns2, port: 53)
        defer { copy.stop() }
        func refreshCopy() throws { try copy.reload(zoneFileText: try Self.transfer(child, zone)) }

        let (parent, backend) = try Self.parent(.bind, delegation: Self.delegation(zone, ns1: ns1, ns2: ns2), address: parentAddress, port: 15600)
        defer { parent.stop() }
        let agent = try await ServeIntegrationTests.startAgent(parent: parent, port: 15601, backend: backend, importKey: false, scanner: Self.scanner)
        defer { agent.stop() }

        // 1. The first DS: an unsigned delegation whose child publishes CDS signed by its key.
        try await Self.notify(agent, zone, .cds)
        try await Self.wait("the first DS at the parent") { try Self.dsTags(parent, zone) == firstKSK }
        try signed.dsPublished(firstKSK.first!)

        // 2. KSK rollover at the child: BIND introduces a new KSK and its CDS.
        try signed.rollKSK(firstKSK.first!)
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
        try signed.publishDeleteSignal()
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

    /// A child signed by a server of `childKind` on ns1 and ns2 (`bchild.parent.` for BIND,
    /// `kchild.parent.` for Knot) under a parent of `parentKind`, the agent with its scanner in
    /// front: the first DS, a KSK rollover ending with the new DS at the parent, the delete
    /// signal removing it — each checked with `dig` at the parent. `addresses` are ns1, ns2 and
    /// the parent's; the parent listens on `port`, the agent on `port + 1`, BIND's rndc on
    /// `port + 2`. The NOTIFY(CDS) after each step comes from the test, or with `childWatch`
    /// from `delegsync child watch` with `scheme: notify` (on `port + 3`), which finds each
    /// change by itself (`watch.interval` 10 s).
    func signedChild(_ childKind: LabServer.Kind, under parentKind: LabServer.Kind, addresses: [String], port: Int, childWatch: Bool = false) async throws {
        for kind in [childKind, parentKind] { try Lab.skipUnlessAvailable(kind) }
        let zone = childKind == .bind ? "bchild.parent." : "kchild.parent."
        let ns1 = addresses[0], ns2 = addresses[1], parentAddress = addresses[2]
        let child = try SignedChild(childKind, zone: zone, zoneText: Self.childZone(zone, ns1: ns1, ns2: ns2), addresses: [ns1, ns2], control: port + 2)
        defer { child.stop() }
        try await Self.wait("\(childKind) to publish CDS", seconds: 90) { !(try Self.cdsTags(child.server, zone)).isEmpty }
        let firstKSK = try Self.cdsTags(child.server, zone)
        XCTAssertEqual(firstKSK.count, 1)

        let (parent, backend) = try Self.parent(parentKind, delegation: Self.delegation(zone, ns1: ns1, ns2: ns2), address: parentAddress, port: port)
        defer { parent.stop() }
        let agent = try await ServeIntegrationTests.startAgent(parent: parent, port: port + 1, backend: backend, importKey: false, scanner: Self.scanner)
        defer { agent.stop() }
        let watcher = try childWatch ? ChildWatch(zone: zone, servers: [ns1, ns2], parent: parent, agent: agent, port: port + 3) : nil
        defer { watcher?.stop() }
        func announce() async throws {
            if watcher == nil { try await Self.notify(agent, zone, .cds) }
        }

        try await announce()
        try await Self.wait("the first DS at the parent", seconds: 90) { try Self.dsTags(parent, zone) == firstKSK }
        try child.dsPublished(firstKSK.first!)
        if let watcher {
            // child status: the scheme the watcher used, the parent's answer, and both sides equal.
            try await Self.wait("the watcher to see the parent in step", seconds: 30) { watcher.logText.contains("(interval) done: in step") }
            let status = try Tool.run(ServeIntegrationTests.binary, ["child", "status", "--config", watcher.config, zone])
            XCTAssertEqual(status.status, 0, status.stdout + status.stderr)
            for line in [
                "scheme notify: last change sent", "NOTIFY CDS: NOERROR", "the parent's delegation matched the child at", "now: parent and child agree",
            ] {
                XCTAssertTrue(status.stdout.contains(line), status.stdout)
            }
        }

        try child.rollKSK(firstKSK.first!)
        try await Self.wait("the CDS of the new KSK", seconds: 90) {
            let tags = try Self.cdsTags(child.server, zone)
            return !tags.isEmpty && tags != firstKSK
        }
        let newKSK = try Self.cdsTags(child.server, zone)
        try await announce()
        try await Self.wait("the new DS at the parent", seconds: 90) { try Self.dsTags(parent, zone) == newKSK }
        XCTAssertEqual(try Self.dsTags(parent, zone), newKSK, agent.logText + (watcher?.logText ?? ""))

        try child.publishDeleteSignal()
        try await Self.wait("the delete signal", seconds: 60) { try Self.cdsTags(child.server, zone) == ["0"] }
        try await announce()
        try await Self.wait("the DS to go", seconds: 90) { try Self.dsTags(parent, zone).isEmpty }
        if let watcher {
            let log = watcher.logText
            XCTAssertTrue(log.contains("uses scheme notify: the parent takes the DS only from the zone's CDS/CDNSKEY"), log)
            XCTAssertGreaterThanOrEqual(log.components(separatedBy: "done: scheme notify: NOTIFY(CDS): the parent answered NOERROR").count - 1, 3, log)
            XCTAssertFalse(log.contains("signed by key"), "scheme notify sends no UPDATE: \(log)")
        }
    }

    /// `delegsync child watch` for one child with `scheme: notify`: NOTIFYs to the agent, the
    /// parent's delegation read from the parent, the child's apex from `servers`.
    final class ChildWatch {
        let directory: String
        let config: String
        let log: String
        let process = Process()

        init(zone: String, servers: [String], parent: LabServer, agent: ServeIntegrationTests.Agent, port: Int) throws {
            directory = try Tool.temporaryDirectory("watch")
            config = "\(directory)/child.yaml"
            log = "\(directory)/watch.log"
            try """
            version: 1
            store: { path: \(directory)/child.sqlite }
            key-directory: \(directory)
            log-level: debug
            watch: { listen: [{ address: 127.0.0.1, port: \(port) }], debounce: 0, interval: 10 }
            children:
              - name: \(zone)
                primary: { address: \(servers[0]) }
                servers: [\(servers.map { "{ address: \($0) }" }.joined(separator: ", "))]
                parent-servers: [{ address: \(parent.address), port: \(parent.port) }]
                target: { address: 127.0.0.1, port: \(agent.port) }
                scheme: notify

            """.write(toFile: config, atomically: true, encoding: .utf8)
            guard FileManager.default.createFile(atPath: log, contents: nil) else { throw ToolError("cannot create \(log)") }
            process.executableURL = URL(fileURLWithPath: ServeIntegrationTests.binary)
            process.arguments = ["child", "watch", "--config", config]
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
        }

        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        func stop() {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    func testKnotChildWithKnotParent() async throws {
        try await signedChild(.knot, under: .knot, addresses: ["127.0.0.210", "127.0.0.211", "127.0.0.212"], port: 15610)
    }

    func testKnotChildWithNSDParent() async throws {
        try await signedChild(.knot, under: .nsd, addresses: ["127.0.0.215", "127.0.0.216", "127.0.0.217"], port: 15615)
    }

    func testBINDChildWithKnotParent() async throws {
        try await signedChild(.bind, under: .knot, addresses: ["127.0.0.220", "127.0.0.221", "127.0.0.222"], port: 16120)
    }

    func testBINDChildWithNSDParent() async throws {
        try await signedChild(.bind, under: .nsd, addresses: ["127.0.0.223", "127.0.0.224", "127.0.0.225"], port: 16125)
    }

    /// Knot child, BIND parent, and the NOTIFYs from `delegsync child watch` with `scheme: notify`
    /// (issue 14 item 5): the watcher alone makes the parent take the first DS, the rolled one
    /// and the delete signal.
    func testKnotChildWithBINDParentThroughChildWatch() async throws {
        try await signedChild(.knot, under: .bind, addresses: ["127.0.0.226", "127.0.0.227", "127.0.0.228"], port: 16130, childWatch: true)
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
        let (parent, backend) = try Self.parent(.bind, delegation: delegation, address: parentAddress, port: 15607)
        defer { parent.stop() }
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: 15608, backend: backend, importKey: false,
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
