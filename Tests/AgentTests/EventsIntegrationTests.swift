import DNSWire
import DelegationCore
import Foundation
import SIG0
import TestSupport
import XCTest

/// Operator events from the real `delegsync serve` in front of a real BIND parent, with the
/// bootstrap fixture's child servers (NSD and Knot): the configured command is a shell line
/// appending its stdin to a file. The key's bootstrap gives `key-trusted` with the key's
/// identity, a change `change-committed`; the parent's primary stopped gives `backend-failing`
/// (threshold 0 minutes) and, once it is back and the waiting change is applied,
/// `backend-recovered` and that change's `change-committed`. Addresses 127.0.0.50–52.
extension BootstrapIntegrationTests {
    func testOperatorEventsFromServe() async throws {
        let directory = try Tool.temporaryDirectory("events")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/events.jsonl"
        let result = try await run(
            base: 50, second: .knot, spoof: false, events: "{ command: [/bin/sh, -c, \"cat >> \(file)\"], backend-failing-after: 0 }")
        defer { stop(result) }
        var restarted: LabServer? = nil
        defer { restarted?.stop() }
        XCTAssertTrue(result.trusted, result.status + "\n" + result.agent.logText)

        let parentName = try DomainName("parent."), child = try DomainName("child.parent.")
        let key = KeyIdentity(zone: parentName, child: child, rdata: try BINDKeyFile.load(path: result.agent.keyBase + ".key").keyData.rdata)
        let trusted = try await events(in: file, until: ["key-trusted"], agent: result.agent)
        XCTAssertEqual(trusted[0]["key"] as? String, key.description)
        XCTAssertEqual(trusted[0]["zone"] as? String, "parent.")
        XCTAssertEqual(trusted[0]["child"] as? String, "child.parent.")
        var host = [CChar](repeating: 0, count: 256)
        XCTAssertEqual(gethostname(&host, 255), 0)
        XCTAssertEqual(trusted[0]["agent"] as? String, String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))

        let change = ["update add child.parent. 3600 NS ns.provider.parent."]
        let committed = try ServeIntegrationTests.nsupdate(result.agent, change)
        XCTAssertEqual(committed.status, 0, committed.stdout + committed.stderr + result.agent.logText)
        let afterCommit = try await events(in: file, until: ["key-trusted", "change-committed"], agent: result.agent)
        XCTAssertEqual(afterCommit[1]["key"] as? String, key.description, "the key that signed the change")
        XCTAssertTrue((afterCommit[1]["detail"] as? String)?.contains("NS ns.provider.parent.") == true, "\(afterCommit[1])")

        // The primary goes down: the same change again waits in the outbox (SERVFAIL).
        let secret = result.parent.tsigSecret
        result.parent.stopDaemon()
        let waiting = try ServeIntegrationTests.nsupdate(result.agent, change)
        XCTAssertNotEqual(waiting.status, 0, "the primary is down: " + waiting.stdout + waiting.stderr)
        let failing = try await events(in: file, until: ["key-trusted", "change-committed", "backend-failing"], agent: result.agent)
        XCTAssertEqual(failing[2]["child"] as? NSNull, NSNull())
        XCTAssertTrue((failing[2]["detail"] as? String)?.contains("first error: cannot read the delegation from the primary") == true, "\(failing[2])")

        // It comes back (same address, port and TSIG key, the zone as it was at the start): the
        // outbox applies the waiting change.
        restarted = try LabServer.bind(
            zone: "parent.", zoneFileText: parentZone(ns1: "127.0.0.51", ns2: "127.0.0.52"), address: result.parent.address, port: result.parent.port,
            tsigSecret: secret)
        let all = try await events(
            in: file, until: ["key-trusted", "change-committed", "backend-failing", "backend-recovered", "change-committed"], agent: result.agent,
            seconds: 90)
        XCTAssertTrue((all[4]["detail"] as? String)?.contains("in the outbox") == true, "\(all[4])")
        XCTAssertTrue(try Lab.served(XCTUnwrap(restarted)).ns.contains("child.parent. ns ns.provider.parent."))
        for event in all {
            let time = event["time"] as? String ?? ""
            XCTAssertNotNil(time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression), time)
            XCTAssertEqual(Set(event.keys), ["event", "time", "zone", "child", "key", "detail", "agent"])
        }
    }

    /// The events written to `file`, once their names are `expected` (in this order), within
    /// `seconds`; fails naming what arrived otherwise.
    func events(in file: String, until expected: [String], agent: ServeIntegrationTests.Agent, seconds: Int = 30) async throws -> [[String: Any]] {
        var events: [[String: Any]] = []
        for _ in 0..<(seconds * 4) {
            let lines = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n")
            events = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0)) }
            if events.count >= expected.count { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        XCTAssertEqual(events.compactMap { $0["event"] as? String }, expected, agent.logText)
        guard events.count == expected.count else { throw ToolError("events: expected \(expected), got \(events)") }
        return events
    }
}
