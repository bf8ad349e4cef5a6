import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store
import TestSupport
import XCTest

/// The `at-ns` key bootstrap against real servers on loopback: one BIND signs `example.` by
/// `dnssec-policy` (the nameserver operator's zone; its KSK is the agent's trust anchor) and
/// serves the unsigned child `child.parent.`, whose only NS is `ns1.example.` (outside it); the
/// same BIND answers the agent's resolver lookups. A BIND parent with `delegsync serve` in
/// front offers only `at-ns`. Without a signal the job fails; with a signal holding another key
/// it fails naming the mismatch; with the child's KEY signalled at
/// `_sig0key.child.parent._signal.ns1.example.` the key is trusted after one round.
///
/// Addresses 127.0.0.85–86, ports 16080–16082 (the child's nameserver on port 53).
final class AtNSIntegrationTests: XCTestCase {
    func testSignalledKEYIsTrustedAndAWrongOneIsNot() async throws {
        try Lab.skipUnlessAvailable(.bind)
        guard let nsupdate = Tool.find("nsupdate"), let keygen = Tool.find("dnssec-keygen") else { throw XCTSkip("BIND's tools are not installed") }
        let server = "127.0.0.85", parentAddress = "127.0.0.86"
        let keyDirectory = try Tool.temporaryDirectory("at-ns-key")
        defer { try? FileManager.default.removeItem(atPath: keyDirectory) }
        let made = try Tool.run(keygen, ["-q", "-T", "KEY", "-n", "HOST", "-a", "ED25519", "child.parent."], directory: keyDirectory)
        XCTAssertEqual(made.status, 0, made.stderr)
        let keyBase = "\(keyDirectory)/\(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
        let key = try BINDKeyFile.load(path: keyBase + ".key").record
        let stranger = try BINDKeyFile.generate(owner: DomainName("child.parent.")).record

        let example = """
            $TTL 5
            example. IN SOA ns1.example. hostmaster.example. 1 3600 900 604800 5
            example. IN NS ns1.example.
            ns1.example. IN A \(server)

            """
        let child = """
            $TTL 5
            child.parent. IN SOA ns1.example. hostmaster.example. 1 3600 900 604800 5
            child.parent. IN NS ns1.example.
            child.parent. IN KEY \(key.rdataPresentation)

            """
        let config =
            ScannerIntegrationTests.signingBIND(zones: ["example."], addresses: [server], control: 16082, policy: "lab")
            + "zone \"child.parent.\" { type primary; file \"{DIR}/child.parent.db\"; };\n"
        let bind = try LabServer.custom(
            kind: .bind, zone: "example.", zoneFileText: example, address: server, port: 53, config: config,
            files: ["lab.key": ScannerIntegrationTests.bindKey("lab-key"), "child.parent.db": child])
        defer { bind.stop() }
        try await ScannerIntegrationTests.wait("BIND to sign example.", seconds: 90) {
            try bind.dig(["+noall", "+answer", "example.", "DNSKEY"]).contains("257 3 13")
        }
        // The anchor: the KSK of example., as `dig example. DNSKEY` prints it.
        let anchorFile = "\(bind.directory)/example.anchor"
        let keys = try bind.dig(["+noall", "+answer", "example.", "DNSKEY"]).split(separator: "\n").filter { $0.contains("257 3 13") }
        XCTAssertEqual(keys.count, 1)
        try (keys.joined(separator: "\n") + "\n").write(toFile: anchorFile, atomically: true, encoding: .utf8)

        let parent = try LabServer.bind(
            zone: "parent.", zoneFileText: Lab.apex + "child.parent.\t3600\tIN\tNS\tns1.example.\n", address: parentAddress, port: 16080)
        defer { parent.stop() }
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: 16081,
            backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }\n    bootstrap: { methods: [at-ns], resolver: { address: \(server) } }",
            importKey: false, keyBase: keyBase, scanner: "{ trust-anchor-file: \(anchorFile) }")
        defer { agent.stop() }
        let signal = "_sig0key.child.parent._signal.ns1.example."

        /// Publishes `record` as the signal (replacing any), uploads the key, and returns the
        /// job's final state once the worker has run it.
        func attempt(signalling record: Record?) async throws -> KeyBootstrap.State {
            var lines = ["server \(server) 53", "zone example.", "update delete \(signal) KEY"]
            if let record { lines.append("update add \(signal) 5 IN KEY \(record.rdataPresentation)") }
            let updated = try Tool.run(nsupdate, ["-k", "\(bind.directory)/lab.key"], input: Data((lines + ["send", ""]).joined(separator: "\n").utf8))
            XCTAssertEqual(updated.status, 0, updated.stdout + updated.stderr)
            if let record {
                try await ScannerIntegrationTests.wait("the signal") { try bind.dig(["+dnssec", signal, "KEY"]).contains(record.rdataPresentation.prefix(12)) }
            }
            // A new upload of the same key replaces its job: tell them apart by the upload time.
            let started = Int64(Date().timeIntervalSince1970)
            try await Task.sleep(for: .milliseconds(1100))
            let upload = try ServeIntegrationTests.nsupdate(
                agent, ["update delete child.parent. KEY", "update add child.parent. 3600 IN KEY \(key.rdataPresentation)"])
            XCTAssertEqual(upload.status, 0, "upload: \(upload.stdout)\(upload.stderr)\n\(agent.logText)")
            var state: KeyBootstrap.State? = nil
            let status = { (try? Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout) ?? "" }
            defer { if state == nil { print("status after the wait:\n\(status())\n\(agent.logText.suffix(4000))") } }
            try await ScannerIntegrationTests.wait("the at-ns round", seconds: 30) {
                let jobs = try SQLiteStore(path: "\(agent.directory)/state.sqlite").bootstraps(child: DomainName("child.parent."), activeOnly: false)
                guard let job = jobs.max(by: { $0.createdAt < $1.createdAt }), job.createdAt > started, job.state.isFinal else { return false }
                state = job.state
                return true
            }
            return try XCTUnwrap(state)
        }

        // No signal under ns1.example.: at-ns alone is offered, so the job fails and says why.
        guard case .failed(let none) = try await attempt(signalling: nil) else { return XCTFail(agent.logText) }
        XCTAssertTrue(none.contains("at-ns: no RFC 9615 signal under any NS"), none)
        // A validated signal with another key: refused, naming the mismatch.
        guard case .failed(let wrong) = try await attempt(signalling: stranger) else { return XCTFail(agent.logText) }
        XCTAssertTrue(wrong.contains("\(signal) holds KEY") && wrong.contains("they must be the same"), wrong)
        // The child's KEY signalled and validated from the anchor: trusted after one round.
        guard case .trusted = try await attempt(signalling: key) else { return XCTFail(agent.logText) }
        let status = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout
        XCTAssertTrue(status.contains(": trusted, from bootstrap"), status)
    }
}
