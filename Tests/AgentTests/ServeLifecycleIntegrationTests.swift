import DNSWire
import Foundation
import TestSupport
import XCTest

/// `delegsync serve`'s life cycle (DaemonLifecycle, on swift-service-lifecycle): SIGHUP re-reads
/// the configuration and keeps the old one when the new one is broken; SIGTERM stops it with
/// exit status 0.
extension ServeIntegrationTests {
    func testSIGHUPReloadsAndSIGTERMStops() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.128", port: 15328)
        defer { parent.stop() }
        let agent = try await Self.startAgent(
            parent: parent, port: 15428, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }", contentChecks: Self.noContentChecks)
        defer { agent.stop() }
        let change: [Update.Operation] = [.add(try Record("child.parent. 60 IN NS ns9.child.parent."))]
        let otherZone = try await send(agent, change, zone: "other.")
        XCTAssertEqual(otherZone.rcode, .notAuth, "other. is not served yet")

        // A broken file: the old configuration stays in force.
        let good = try String(contentsOfFile: agent.config, encoding: .utf8)
        try (good + "  - name: 7\n").write(toFile: agent.config, atomically: true, encoding: .utf8)
        kill(agent.process.processIdentifier, SIGHUP)
        try await waitFor("configuration not reloaded", in: agent)
        XCTAssertTrue(agent.process.isRunning)

        // A second zone: served after the reload.
        try (good + "  - name: other.\n    primary: { address: \(parent.address), port: \(parent.port) }\n    backend: { type: script, command: [/bin/true] }\n")
            .write(toFile: agent.config, atomically: true, encoding: .utf8)
        kill(agent.process.processIdentifier, SIGHUP)
        try await waitFor("configuration reloaded", in: agent)
        let served = try await send(agent, change, zone: "other.")
        XCTAssertNotEqual(served.rcode, .notAuth, "other. is served after SIGHUP: \(served.edns?.extendedError?.extraText ?? "")")

        kill(agent.process.processIdentifier, SIGTERM)
        agent.process.waitUntilExit()
        XCTAssertEqual(agent.process.terminationReason, .exit)
        XCTAssertEqual(agent.process.terminationStatus, 0, agent.logText)
        XCTAssertTrue(agent.logText.contains("stopping"), agent.logText)
    }

    func waitFor(_ text: String, in agent: Agent) async throws {
        for _ in 0..<100 where !agent.logText.contains(text) { try await Task.sleep(for: .milliseconds(50)) }
        XCTAssertTrue(agent.logText.contains(text), "no \"\(text)\" in the log:\n\(agent.logText)")
    }
}
