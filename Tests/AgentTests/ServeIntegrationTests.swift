import DNSWire
import Foundation
import SIG0
import Store
import TestSupport
import Transport
import XCTest

/// `delegsync serve` in front of a real parent on loopback, for every backend: named (rfc2136,
/// nsupdate), knotd (rfc2136, knsupdate), nsd (fragment). A child key made by BIND's
/// dnssec-keygen is imported as trusted; an UPDATE signed by BIND's `nsupdate -k` and one signed
/// by delegsync change NS, glue and DS; `dig` against the parent shows exactly the new delegation
/// and a higher SOA serial. Every process is started and stopped by the test.
final class ServeIntegrationTests: XCTestCase {
    static let binary = Bundle.main.bundleURL.appendingPathComponent("delegsync").path

    /// A running agent and its files.
    final class Agent {
        let directory: String
        let config: String
        let port: Int
        var process: Process
        let keyBase: String
        let log: String

        init(directory: String, config: String, port: Int, process: Process, keyBase: String, log: String) {
            self.directory = directory
            self.config = config
            self.port = port
            self.process = process
            self.keyBase = keyBase
            self.log = log
        }

        func stop() {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }

        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    }

    /// Writes the config, makes and imports the child's key, starts `delegsync serve`, and waits
    /// until it answers.
    static func startAgent(
        parent: LabServer, port: Int, backend: String, importKey: Bool = true, keyBase givenKeyBase: String? = nil, identity: String? = nil,
        metricsPort: Int? = nil, limits: String? = nil, contentChecks: String? = nil, events: String? = nil, scanner: String? = nil,
        store: String? = nil
    ) async throws -> Agent {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else { throw ToolError("no delegsync at \(Self.binary)") }
        guard let keygen = Tool.find("dnssec-keygen") else { throw XCTSkip("dnssec-keygen is not installed") }
        let directory = try Tool.temporaryDirectory("agent")
        let keyBase: String
        if let givenKeyBase {
            keyBase = givenKeyBase
        } else {
            let made = try Tool.run(keygen, ["-q", "-T", "KEY", "-n", "HOST", "-a", "ED25519", "child.parent."], directory: directory)
            XCTAssertEqual(made.status, 0, made.stderr)
            keyBase = "\(directory)/\(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        let config = "\(directory)/delegsync.yaml"
        let text = """
            version: 1
            listen: [{ address: 127.0.0.1, port: \(port) }]
            store: \(store ?? "{ path: \(directory)/state.sqlite }")
            log-level: debug
            \(identity.map { "identity: { key-file: \($0) }" } ?? "")
            \(metricsPort.map { "metrics: { address: 127.0.0.1, port: \($0) }" } ?? "")
            \(events.map { "events: \($0)" } ?? "")
            \(limits.map { "limits: \($0)" } ?? "")
            zones:
              - name: parent.
                primary: { address: \(parent.address), port: \(parent.port) }
                backend: \(backend)
            \(contentChecks.map { "    content-checks: \($0)" } ?? "")
            \(scanner.map { "    scanner: \($0)" } ?? "")

            """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let check = try Tool.run(Self.binary, ["check-config", "--config", config])
        XCTAssertEqual(check.status, 0, check.stderr)
        if importKey {
            let imported = try Tool.run(Self.binary, ["keys", "import", "--config", config, keyBase + ".key", "--trusted"])
            XCTAssertEqual(imported.status, 0, imported.stderr)
        }
        let log = "\(directory)/serve.log"
        guard FileManager.default.createFile(atPath: log, contents: nil) else { throw ToolError("cannot create \(log)") }
        let process = try await launchServe(config: config, port: port, log: log)
        return Agent(directory: directory, config: config, port: port, process: process, keyBase: keyBase, log: log)
    }

    /// Starts `delegsync serve` (appending to `log`) and waits until it answers a query on
    /// `host`:`port`.
    static func launchServe(config: String, port: Int, log: String, host: String = "127.0.0.1") async throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--config", config]
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Ready when it answers a query (NOTIMP).
        for _ in 0..<100 {
            var query = Message(question: [Question(name: try DomainName("parent."), type: .soa)])
            query.id = 1
            if (try? await DNSClient(timeout: .milliseconds(200)).exchange(try query.wireFormat(), host: host, port: port, transport: .tcp)) != nil {
                return process
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        process.waitUntilExit()
        throw ToolError("delegsync serve did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    /// BIND's nsupdate, signing with the child's key, over TCP.
    static func nsupdate(_ agent: Agent, _ commands: [String]) throws -> Tool.Result {
        let script = (["server 127.0.0.1 \(agent.port)", "zone parent."] + commands + ["send", ""]).joined(separator: "\n")
        return try Tool.run("nsupdate", ["-v", "-t", "10", "-k", agent.keyBase + ".private"], input: Data(script.utf8))
    }

    /// An UPDATE signed by delegsync, over TCP, with OPT (so EDEs come back).
    func send(
        _ agent: Agent, _ operations: [Update.Operation], zone: String = "parent.", signer: SIG0Signer? = nil, at time: UInt32? = nil, tamper: Bool = false
    ) async throws -> Message {
        try await Self.send(agent, operations, zone: zone, signer: signer, at: time, tamper: tamper)
    }

    static func send(
        _ agent: Agent, _ operations: [Update.Operation], zone: String = "parent.", signer: SIG0Signer? = nil, at time: UInt32? = nil, tamper: Bool = false
    ) async throws -> Message {
        let keyFile = try BINDKeyFile.load(path: agent.keyBase + ".private")
        let signer = try signer ?? SIG0Signer(keyFile: keyFile)
        let unsigned = try Update(zone: DomainName(zone), operations: operations).message(id: .random(in: 0...UInt16.max)).wireFormat()
        var bytes = try signer.sign(unsigned, now: time ?? UInt32(Date().timeIntervalSince1970))
        if tamper { bytes[bytes.count - 1] ^= 1 }
        return try Message(wire: await DNSClient(timeout: .seconds(15)).exchange(bytes, host: "127.0.0.1", port: agent.port, transport: .tcp))
    }

    static let nsupdateChange = [
        "update delete child.parent. NS",
        "update add child.parent. 3600 NS ns1.child.parent.",
        "update add child.parent. 3600 NS ns2.child.parent.",
        "update delete ns1.child.parent. A 192.0.2.1",
        "update add ns1.child.parent. 3600 A 192.0.2.11",
        "update add ns1.child.parent. 3600 AAAA 2001:db8::11",
        "update add ns2.child.parent. 3600 A 192.0.2.12",
        "update add ns2.child.parent. 3600 AAAA 2001:db8::12",
        "update add \(Lab.ds)",
    ]

    /// The content checks are off for the backend tests: their child has no nameservers (its
    /// glue is at documentation addresses, which the agent must not query from a test). The
    /// checks are tested against real child servers in ContentCheckIntegrationTests.
    static let noContentChecks = "{ ns-authoritative: false, ds-matches-dnskey: false, ds-removal-needs-cds-delete: false }"

    /// The life cycle the issue asks for, on one parent and backend.
    func lifeCycle(parent: LabServer, port: Int, backend: String) async throws {
        let agent = try await Self.startAgent(parent: parent, port: port, backend: backend, contentChecks: Self.noContentChecks)
        defer { agent.stop() }
        let before = try Lab.served(parent)

        let result = try Self.nsupdate(agent, Self.nsupdateChange)
        XCTAssertEqual(result.status, 0, "nsupdate: \(result.stdout)\(result.stderr)\n\(agent.logText)")
        let afterBIND = try Lab.served(parent)
        XCTAssertEqual(afterBIND.ns, Lab.expectedNS)
        XCTAssertEqual(afterBIND.glue, Lab.expectedGlue)
        XCTAssertEqual(afterBIND.ds, Lab.expectedDS)
        XCTAssertGreaterThan(afterBIND.serial, before.serial)

        let reply = try await send(
            agent,
            [
                .delete(try Record("ns2.child.parent. 0 IN AAAA 2001:db8::12")),
                .add(try Record("ns2.child.parent. 60 IN AAAA 2001:db8::22")),
            ])
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        let afterOurs = try Lab.served(parent)
        XCTAssertEqual(afterOurs.glue, Lab.expectedGlue.subtracting(["ns2.child.parent. aaaa 2001:db8::12"]).union(["ns2.child.parent. aaaa 2001:db8::22"]))
        XCTAssertGreaterThan(afterOurs.serial, afterBIND.serial)
        let audit = try SQLiteStore(path: "\(agent.directory)/state.sqlite").audit(child: try DomainName("child.parent."), limit: 10)
        XCTAssertEqual(audit.map(\.decision), ["NOERROR", "NOERROR"])
    }

    func testBINDParentRFC2136() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.121", port: 15321)
        defer { parent.stop() }
        try await lifeCycle(parent: parent, port: 15421, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }")
    }

    func testBINDParentNsupdate() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.122", port: 15322)
        defer { parent.stop() }
        try await lifeCycle(parent: parent, port: 15422, backend: "{ type: nsupdate, command: [nsupdate, -k, \(parent.tsigKeyFile!)] }")
    }

    func testKnotParentRFC2136() async throws {
        try Lab.skipUnlessAvailable(.knot)
        let parent = try LabServer.knot(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.123", port: 15323)
        defer { parent.stop() }
        try await lifeCycle(parent: parent, port: 15423, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }")
    }

    func testKnotParentKnsupdate() async throws {
        try Lab.skipUnlessAvailable(.knot)
        let parent = try LabServer.knot(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.124", port: 15324)
        defer { parent.stop() }
        let y = "hmac-sha256:\(parent.tsigKeyName!):\(parent.tsigSecret!)"
        try await lifeCycle(parent: parent, port: 15424, backend: "{ type: nsupdate, command: [knsupdate, -y, \"\(y)\"] }")
    }

    func testNSDParentFragment() async throws {
        try Lab.skipUnlessAvailable(.nsd)
        let parent = try LabServer.nsd(
            zone: "parent.", zoneFileText: Lab.nsdZoneText, address: "127.0.0.125", port: 15325,
            files: [Lab.fragmentName: Lab.delegation])
        defer { parent.stop() }
        let backend =
            "{ type: nsd, zone-file: \(parent.zoneFile), fragment-file: \(parent.directory)/\(Lab.fragmentName), nsd-control-config: \(parent.configFile) }"
        try await lifeCycle(parent: parent, port: 15425, backend: backend)
    }

    /// Everything the policy or the checks refuse: the documented RCODE and EDE, nothing changes
    /// at the parent, and each request is in the audit.
    func testRefusalsChangeNothing() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let parent = try LabServer.bind(
            zone: "parent.", zoneFileText: Lab.zoneText + "ample.parent. 3600 IN NS ns.ample.net.\nother.parent. 3600 IN NS ns.other.net.\n",
            address: "127.0.0.126", port: 15326)
        defer { parent.stop() }
        let agent = try await Self.startAgent(
            parent: parent, port: 15426, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }", metricsPort: 15926)
        defer { agent.stop() }
        let child = try DomainName("child.parent.")
        let before = try Lab.served(parent)
        let stranger = try SIG0Signer(keyFile: BINDKeyFile.generate(owner: child))
        let now = UInt32(Date().timeIntervalSince1970)
        let cases: [(String, () async throws -> Message, RCode, UInt16?)] = [
            ("sibling with a shared suffix", { try await self.send(agent, [.add(try Record("ample.parent. 60 IN NS ns.evil.net."))]) }, .refused, 18),
            ("another child", { try await self.send(agent, [.deleteRRset(try DomainName("other.parent."), .ns)]) }, .refused, 18),
            ("the parent apex", { try await self.send(agent, [.add(try Record("parent. 60 IN NS ns.evil.net."))]) }, .refused, 18),
            ("a non-delegation type", { try await self.send(agent, [.add(try Record("child.parent. 60 IN TXT \"x\""))]) }, .refused, 18),
            ("glue out of bailiwick", { try await self.send(agent, [.add(try Record("ns.provider.net. 60 IN A 192.0.2.9"))]) }, .refused, 18),
            ("glue no NS uses", { try await self.send(agent, [.add(try Record("www.child.parent. 60 IN A 192.0.2.9"))]) }, .refused, 18),
            ("deleting every NS", { try await self.send(agent, [.deleteRRset(child, .ns)]) }, .refused, 18),
            ("an unknown key", { try await self.send(agent, [.add(try Record("child.parent. 60 IN NS ns.x.net."))], signer: stranger) }, .badKey, 18),
            ("a bad signature", { try await self.send(agent, [.add(try Record("child.parent. 60 IN NS ns.x.net."))], tamper: true) }, .badSig, 18),
            ("an expired signature", { try await self.send(agent, [.add(try Record("child.parent. 60 IN NS ns.x.net."))], at: now - 4000) }, .badTime, 18),
            ("a wrong zone", { try await self.send(agent, [.add(try Record("child.parent. 60 IN NS ns.x.net."))], zone: "example.") }, .notAuth, 20),
        ]
        for (name, request, rcode, infoCode) in cases {
            let reply = try await request()
            XCTAssertEqual(reply.rcode, rcode, "\(name): \(reply.edns?.extendedError?.extraText ?? "no EDE")")
            XCTAssertEqual(reply.edns?.extendedError?.infoCode, infoCode, name)
        }
        // Two SIG(0)s, and an unsigned UPDATE, over the wire as bytes.
        let keyFile = try BINDKeyFile.load(path: agent.keyBase + ".private")
        let unsigned = try Update(zone: DomainName("parent."), operations: [.add(try Record("child.parent. 60 IN NS ns.x.net."))]).message(id: 7).wireFormat()
        let once = try SIG0Signer(keyFile: keyFile).sign(unsigned, now: now)
        var twice = once + Array(once[try SIG0Signature(message: once).recordStart...])
        twice[11] += 1
        for (name, bytes, rcode) in [("two SIGs", twice, RCode.formErr), ("unsigned", unsigned, .refused)] {
            let reply = try Message(wire: await DNSClient().exchange(bytes, host: "127.0.0.1", port: agent.port, transport: .tcp))
            XCTAssertEqual(reply.rcode, rcode, name)
            XCTAssertNotNil(reply.edns?.extendedError, name)
        }
        let after = try Lab.served(parent)
        XCTAssertEqual(after.ns, before.ns)
        XCTAssertEqual(after.glue, before.glue)
        XCTAssertEqual(after.ds, before.ds)
        XCTAssertEqual(after.serial, before.serial, "the parent changed")
        // The readiness probes (QUERY, answered NOTIMP) are audited too; leave them out.
        let audit = try SQLiteStore(path: "\(agent.directory)/state.sqlite").audit(child: nil, limit: 100).filter { $0.decision != "NOTIMP" }
        XCTAssertEqual(audit.count, cases.count + 2)
        XCTAssertFalse(audit.contains { $0.decision == "NOERROR" })

        // The Prometheus endpoint counted each outcome with the rule that decided it.
        let metrics = try Self.httpGet(port: 15926, path: "/metrics")
        XCTAssertTrue(metrics.hasPrefix("HTTP/1.1 200 OK"), metrics)
        for line in [
            "delegsync_requests_total{rcode=\"REFUSED\",ede=\"18\",rule=\"glue-out-of-bailiwick\"} 1",
            "delegsync_requests_total{rcode=\"REFUSED\",ede=\"18\",rule=\"ns-empty\"} 1",
            "delegsync_requests_total{rcode=\"BADSIG\",ede=\"18\",rule=\"badSignature\"} 1",
            "delegsync_requests_total{rcode=\"NOTAUTH\",ede=\"20\",rule=\"\"} 1",
            "delegsync_sig0_verifications_total{result=\"rejected\"} 2",
            "delegsync_outbox_depth 0",
            "delegsync_bootstrap_jobs{state=\"verifying\"} 0",
        ] {
            XCTAssertTrue(metrics.contains(line), "missing \(line) in\n\(metrics)")
        }
        XCTAssertTrue(metrics.contains("delegsync_sig0_verification_seconds_count "), metrics)
        XCTAssertTrue(try Self.httpGet(port: 15926, path: "/").hasPrefix("HTTP/1.1 404"))
    }

    /// A plain HTTP/1.1 GET over a socket; the whole response, headers included.
    static func httpGet(port: Int, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ToolError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ToolError("cannot connect to 127.0.0.1:\(port)") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// The parent's primary is down: SERVFAIL; when it is back, the outbox applies the change
    /// exactly once (the serial rises by one).
    func testOutageThenAppliedOnce() async throws {
        try Lab.skipUnlessAvailable(.bind)
        var parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.127", port: 15327)
        let agent = try await Self.startAgent(
            parent: parent, port: 15427, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }", contentChecks: Self.noContentChecks)
        defer { agent.stop() }
        let secret = parent.tsigSecret
        parent.stop()
        let reply = try await send(agent, [.add(try Record("child.parent. 60 IN NS ns.provider.net."))])
        XCTAssertEqual(reply.rcode, .servFail)
        XCTAssertEqual(reply.edns?.extendedError?.infoCode, 22)
        // The same parent comes back: same address, port and TSIG key, the zone as it was.
        parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.127", port: 15327, tsigSecret: secret)
        defer { parent.stop() }
        XCTAssertFalse(try Lab.served(parent).ns.contains("child.parent. ns ns.provider.net."))
        var applied = false
        for _ in 0..<80 where !applied {
            try await Task.sleep(for: .milliseconds(500))
            applied = try Lab.served(parent).ns.contains("child.parent. ns ns.provider.net.")
        }
        XCTAssertTrue(applied, "the outbox did not apply the change: \(agent.logText)")
        try await Task.sleep(for: .seconds(3))
        XCTAssertEqual(try Lab.served(parent).serial, Lab.serial + 1, "applied more than once")
    }
}
