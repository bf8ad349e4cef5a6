import DNSWire
import Foundation
import SIG0
import Store
import TestSupport
import Transport
import XCTest

/// Key bootstrap on loopback with real child nameservers: the child zone is served by NSD and
/// Knot (and BIND) on their own 127.0.0.x addresses at port 53, the parent by BIND with
/// `delegsync serve` in front. BIND's `nsupdate -k` sends the self-signed upload; after the
/// rounds (short intervals here) the key is trusted and the next UPDATE signed with it changes
/// the delegation in the real parent. With one child server serving another KEY it is never
/// trusted, and `delegsync status` names the server and the reason.
final class BootstrapIntegrationTests: XCTestCase {
    func childZone(keyLine: String, ns1: String, ns2: String) -> String {
        """
        $TTL 1
        child.parent.      IN SOA ns1.child.parent. hostmaster.child.parent. 1 3600 900 604800 1
        child.parent.      IN NS  ns1.child.parent.
        child.parent.      IN NS  ns2.child.parent.
        ns1.child.parent.  IN A   \(ns1)
        ns2.child.parent.  IN A   \(ns2)
        \(keyLine)

        """
    }

    /// The delegation to ns1 and ns2, and the address of ns.provider.parent. (a nameserver
    /// outside the child, on ns1's address) for the agent's resolver, which is this server.
    func parentZone(ns1: String, ns2: String) -> String {
        Lab.apex + """
            child.parent.\t3600\tIN\tNS\tns1.child.parent.
            child.parent.\t3600\tIN\tNS\tns2.child.parent.
            ns1.child.parent.\t3600\tIN\tA\t\(ns1)
            ns2.child.parent.\t3600\tIN\tA\t\(ns2)
            ns.provider.parent.\t3600\tIN\tA\t\(ns1)

            """
    }

    func run(base: Int, second: LabServer.Kind, spoof: Bool, restartAfterRound1: Bool = false, events: String? = nil) async throws -> (
        status: String, trusted: Bool, agent: ServeIntegrationTests.Agent, parent: LabServer, children: [LabServer]
    ) {
        for kind in [LabServer.Kind.bind, .nsd, second] { try Lab.skipUnlessAvailable(kind) }
        guard let keygen = Tool.find("dnssec-keygen") else { throw XCTSkip("dnssec-keygen is not installed") }
        // Removed in stop(), with the agent's directory.
        let keyDirectory = try Tool.temporaryDirectory("bootstrap-key")
        let made = try Tool.run(keygen, ["-q", "-T", "KEY", "-n", "HOST", "-a", "ED25519", "child.parent."], directory: keyDirectory)
        let keyBase = "\(keyDirectory)/\(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
        let keyLine = try String(contentsOfFile: keyBase + ".key", encoding: .utf8).split(separator: "\n").first { !$0.hasPrefix(";") }.map(String.init) ?? ""
        let otherLine = try BINDKeyFile.generate(owner: DomainName("child.parent.")).record.description

        let ns1 = "127.0.0.\(base + 1)", ns2 = "127.0.0.\(base + 2)"
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: parentZone(ns1: ns1, ns2: ns2), address: "127.0.0.\(base)", port: 15300 + base)
        var children: [LabServer] = []
        do {
            children.append(try LabServer.nsd(zone: "child.parent.", zoneFileText: childZone(keyLine: keyLine, ns1: ns1, ns2: ns2), address: ns1, port: 53))
            let secondText = childZone(keyLine: spoof ? otherLine : keyLine, ns1: ns1, ns2: ns2)
            switch second {
            case .knot: children.append(try LabServer.knot(zone: "child.parent.", zoneFileText: secondText, address: ns2, port: 53, tsigKeyName: nil))
            default: children.append(try LabServer.bind(zone: "child.parent.", zoneFileText: secondText, address: ns2, port: 53, tsigKeyName: nil))
            }
        } catch {
            children.forEach { $0.stop() }
            parent.stop()
            throw error
        }
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: 15400 + base,
            backend:
                "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }\n    bootstrap: { rounds: 2, minimum-interval: \(restartAfterRound1 ? 6 : 1), maximum-interval: \(restartAfterRound1 ? 6 : 2), resolver: { address: \(parent.address), port: \(parent.port) } }",
            importKey: false, keyBase: keyBase, events: events)
        // The self-signed upload, by BIND's nsupdate, over TCP.
        let keyRecord = try BINDKeyFile.load(path: keyBase + ".key").record
        let upload = try ServeIntegrationTests.nsupdate(
            agent, ["update delete child.parent. KEY", "update add child.parent. 3600 IN KEY \(keyRecord.rdataPresentation)"])
        XCTAssertEqual(upload.status, 0, "upload: \(upload.stdout)\(upload.stderr)\n\(agent.logText)")
        var trusted = false
        var status = ""
        if restartAfterRound1 {
            // Stop the agent once round 1 has passed, start it again: the job resumes from the store.
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(250))
                status = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout
                if status.contains("round 1 of 2 passed") { break }
            }
            XCTAssertTrue(status.contains("next: round 2 of 2"), status)
            agent.process.terminate()
            agent.process.waitUntilExit()
            XCTAssertEqual(agent.process.terminationStatus, 0, "serve did not stop cleanly on SIGTERM")
            agent.process = try await ServeIntegrationTests.launchServe(config: agent.config, port: agent.port, log: agent.log)
        }
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(500))
            status = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout
            if status.contains(": trusted, from bootstrap") || status.contains("failed:") { break }
        }
        trusted = status.contains(": trusted, from bootstrap")
        return (status, trusted, agent, parent, children)
    }

    func stop(_ result: (status: String, trusted: Bool, agent: ServeIntegrationTests.Agent, parent: LabServer, children: [LabServer])) {
        result.agent.stop()
        try? FileManager.default.removeItem(atPath: (result.agent.keyBase as NSString).deletingLastPathComponent)
        result.children.forEach { $0.stop() }
        result.parent.stop()
    }

    func testNSDAndKnotChildKeyBecomesTrustedAndUsable() async throws {
        let result = try await run(base: 140, second: .knot, spoof: false)
        defer { stop(result) }
        XCTAssertTrue(result.trusted, result.status + "\n" + result.agent.logText)
        XCTAssertTrue(result.status.contains("round 2 of 2 passed"), result.status)
        // The trusted KEY is written into the parent zone; BIND serves it at the delegation.
        let keyRecord = try BINDKeyFile.load(path: result.agent.keyBase + ".key").record
        var published = ""
        for _ in 0..<20 {
            published = try result.parent.dig(["+short", "child.parent.", "KEY"])
            if !published.isEmpty { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        XCTAssertEqual(published.replacingOccurrences(of: " ", with: ""), keyRecord.rdataPresentation.replacingOccurrences(of: " ", with: "") + "\n")
        // The next UPDATE signed with the now trusted key changes the delegation at the parent
        // (the new nameserver, outside the child, serves the child zone: the content checks ask).
        let change = try ServeIntegrationTests.nsupdate(result.agent, ["update add child.parent. 3600 NS ns.provider.parent."])
        XCTAssertEqual(change.status, 0, change.stdout + change.stderr + result.agent.logText)
        XCTAssertTrue(try Lab.served(result.parent).ns.contains("child.parent. ns ns.provider.parent."))
    }

    /// The agent is stopped after round 1 and started again: the job resumes at round 2 and
    /// the key becomes trusted.
    func testAgentRestartInTheMiddleResumesTheJob() async throws {
        let result = try await run(base: 160, second: .knot, spoof: false, restartAfterRound1: true)
        defer { stop(result) }
        XCTAssertTrue(result.trusted, result.status + "\n" + result.agent.logText)
        XCTAssertTrue(result.status.contains("round 2 of 2 passed"), result.status)
        XCTAssertEqual(result.status.components(separatedBy: "round 1 of 2 passed").count, 2, "round 1 ran twice: \(result.status)")
    }

    func testBINDChildServingAnotherKeyIsNeverTrusted() async throws {
        let result = try await run(base: 150, second: .bind, spoof: true)
        defer { stop(result) }
        XCTAssertFalse(result.trusted, result.status)
        XCTAssertTrue(result.status.contains("failed: round 1: ns2.child.parent. at 127.0.0.152 served key tag"), result.status)
        // The key stays "known": an UPDATE signed by it is refused.
        let change = try ServeIntegrationTests.nsupdate(result.agent, ["update add child.parent. 3600 NS ns.provider.parent."])
        XCTAssertNotEqual(change.status, 0)
        XCTAssertFalse(try Lab.served(result.parent).ns.contains("child.parent. ns ns.provider.parent."))
    }
}
