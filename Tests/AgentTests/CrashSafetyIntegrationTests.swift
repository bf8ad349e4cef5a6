import DNSWire
import Foundation
import SIG0
import Store
import TestSupport
import Transport
import XCTest

/// Issue 11: crash safety. `delegsync serve` in front of a real BIND parent is killed with
/// SIGKILL at 100 random moments while a child commits changes, and started again after each.
/// Afterwards every change answered NOERROR is in the parent zone, none was applied twice (the
/// SOA serial rose exactly once per change the zone holds, and the audit agrees), and the store
/// opens cleanly and passes SQLite's integrity check.
extension ServeIntegrationTests {
    func testKillNineAtRandomMoments() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.131", port: 15331)
        defer { parent.stop() }
        let agent = try await Self.startAgent(
            parent: parent, port: 15431, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }",
            limits: "{ updates-per-child-per-hour: 10000 }", contentChecks: Self.noContentChecks)
        defer { agent.stop() }
        var answeredNoError: [String] = []
        var delays: [Int] = []
        var generator = SystemRandomNumberGenerator()
        let signer = try SIG0Signer(keyFile: BINDKeyFile.load(path: agent.keyBase + ".private"))
        let port = agent.port
        for round in 0..<100 {
            let name = "ns\(round).provider.net."
            let delay = Int.random(in: 0...120, using: &generator)
            delays.append(delay)
            let unsigned = try Update(zone: DomainName("parent."), operations: [.add(try Record("child.parent. 3600 IN NS \(name)"))])
                .message(id: .random(in: 0...UInt16.max), edns: EDNS()).wireFormat()
            let bytes = try signer.sign(unsigned, now: UInt32(Date().timeIntervalSince1970))
            let request = Task {
                try Message(wire: await DNSClient(timeout: .seconds(15)).exchange(bytes, host: "127.0.0.1", port: port, transport: .tcp))
            }
            try await Task.sleep(for: .milliseconds(delay))
            kill(agent.process.processIdentifier, SIGKILL)
            agent.process.waitUntilExit()
            if let reply = try? await request.value, reply.rcode == .noError { answeredNoError.append(name) }
            agent.process = try await Self.launchServe(config: agent.config, port: agent.port, log: agent.log)
        }
        // Let the outbox finish what the kills interrupted.
        let path = "\(agent.directory)/state.sqlite"
        for _ in 0..<60 where try SQLiteStore(path: path).pendingCount() > 0 {
            try await Task.sleep(for: .milliseconds(500))
        }
        agent.process.terminate()
        agent.process.waitUntilExit()

        let served = try Lab.served(parent)
        let present = Set(served.ns.compactMap { $0.split(separator: " ").last.map(String.init) }.filter { $0.hasSuffix(".provider.net.") })
        print("kill -9 at 100 moments: \(answeredNoError.count) changes answered NOERROR before the kill, \(present.count) in the parent zone, serial +\(served.serial - Lab.serial)")
        let context = "kill delays (ms): \(delays)"
        XCTAssertFalse(answeredNoError.isEmpty, "no request was ever answered before the kill: \(context)")
        XCTAssertLessThan(answeredNoError.count, 100, "every request finished before its kill: the kills hit nothing. \(context)")
        for name in answeredNoError {
            XCTAssertTrue(present.contains(name), "\(name) was answered NOERROR but is not in the parent zone. \(context)")
        }
        XCTAssertEqual(Int(served.serial - Lab.serial), present.count, "the serial rose other than once per change held. \(context)")
        let store = try SQLiteStore(path: path)
        XCTAssertEqual(try store.pendingCount(), 0)
        let applied = try store.audit(child: try DomainName("child.parent."), limit: 1000).filter { $0.decision == "NOERROR" && $0.reason == "applied" }
        XCTAssertLessThanOrEqual(applied.count, present.count, "the audit shows more commits than the zone holds")
        XCTAssertGreaterThanOrEqual(applied.count, answeredNoError.count)
        let integrity = try Tool.run("sqlite3", [path, "PRAGMA integrity_check;"])
        XCTAssertEqual(integrity.status, 0, integrity.stderr)
        XCTAssertEqual(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }
}
