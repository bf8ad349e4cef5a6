import Agent
import DNSWire
import DaemonSupport
import Foundation
import SIG0
import TestSupport
import Transport
import XCTest

/// The parent's primary also serves the child zone (one BIND with `parent.` and
/// `child.parent.`): its answer to `child.parent. NS` is then the child's apex NS set (answer
/// section, AA), not the delegation. Here the two differ — the parent delegates to
/// `ns1.child.parent.` (glue 127.0.0.131), the child's apex names `ns1.child.parent.` at
/// 127.0.0.133 and `ns2.child.parent.` — and the agent must never take the apex for the
/// delegation: it reads the parent zone by AXFR where the primary allows it, else refuses.
/// BIND on 127.0.0.130, NSD on 127.0.0.131; nothing listens on 127.0.0.132 and .133.
final class ParentReadIntegrationTests: XCTestCase {
    static let parentZone =
        Lab.apex + """
            child.parent.\t3600\tIN\tNS\tns1.child.parent.
            ns1.child.parent.\t3600\tIN\tA\t127.0.0.131
            \(Lab.ds)

            """

    static func childZone(keyLine: String = "") -> String {
        """
        $TTL 1
        child.parent.      IN SOA ns1.child.parent. hostmaster.child.parent. 1 3600 900 604800 1
        child.parent.      IN NS  ns1.child.parent.
        child.parent.      IN NS  ns2.child.parent.
        ns1.child.parent.  IN A   127.0.0.133
        ns2.child.parent.  IN A   127.0.0.132
        \(keyLine)

        """
    }

    let child = try! DomainName("child.parent.")

    /// BIND with both zones on 127.0.0.130.
    func primary(allowTransfer: String = "any") throws -> LabServer {
        try Lab.skipUnlessAvailable(.bind)
        return try LabServer.bind(
            zone: "parent.", zoneFileText: Self.parentZone, address: "127.0.0.130", port: 15330, moreZones: ["child.parent.": Self.childZone()],
            allowTransfer: allowTransfer)
    }

    func zone(_ server: LabServer) throws -> AgentConfiguration.Zone {
        try AgentConfiguration.parse(
            """
            version: 1
            zones:
              - name: parent.
                primary: { address: \(server.address), port: \(server.port) }
                backend: { type: script, output: "-" }
            """
        ).zones[0]
    }

    static let exchange: DNSExchange = { message, host, port, transport in
        try await DNSClient().exchange(message, host: host, port: port, transport: transport)
    }

    /// The lab is what the test says: BIND answers `child.parent. NS` with the child's apex.
    func testThePrimaryAnswersWithTheChildApex() throws {
        let server = try primary()
        defer { server.stop() }
        let answer = try server.dig(["child.parent.", "NS"])
        XCTAssertTrue(answer.contains("flags: qr aa"), answer)
        XCTAssertTrue(answer.contains("ns2.child.parent."), answer)
    }

    /// The reader as the agent builds it transfers `parent.` and finds the delegation there:
    /// `ns1.child.parent.` with the parent's glue and DS, nothing of the child's apex.
    func testTheReaderTakesTheDelegationFromTheParentZone() async throws {
        let server = try primary()
        defer { server.stop() }
        let snapshot = try await PrimaryZoneReader(exchange: Self.exchange).delegation(in: try zone(server), child: child)
        XCTAssertEqual(snapshot?.nameservers, [try DomainName("ns1.child.parent.")])
        XCTAssertEqual(
            snapshot?.glue.mapValues { $0.compactMap { IPAddressText.text(type: $0.type, rdata: $0.rdata) } },
            [try DomainName("ns1.child.parent."): ["127.0.0.131"]])
        XCTAssertEqual(snapshot?.ds.count, 1)
    }

    /// Where the primary refuses the transfer, the read fails and says what is wrong and what to
    /// do; the same without a way to transfer at all.
    func testRefusedTransferIsAClearError() async throws {
        let refusing = try primary(allowTransfer: "none")
        defer { refusing.stop() }
        let readers = [
            ("answered the zone transfer of parent. with REFUSED", PrimaryZoneReader(exchange: Self.exchange)),
            ("this reader does not transfer zones", PrimaryZoneReader(exchange: Self.exchange, transfer: nil)),
        ]
        for (why, reader) in readers {
            do {
                let snapshot = try await reader.delegation(in: try zone(refusing), child: child)
                XCTFail("took \(String(describing: snapshot?.nameservers)) for the delegation")
            } catch let error as ParentReadError {
                XCTAssertTrue(
                    error.description.hasPrefix(
                        "the primary 127.0.0.130 port 15330 also serves child.parent. as a zone: its answer to child.parent. NS is the child's apex, not the delegation in parent.; "
                    ), error.description)
                XCTAssertTrue(error.description.contains(why), error.description)
                XCTAssertTrue(error.description.contains("allow the agent to transfer parent. from it (BIND allow-transfer"), error.description)
            }
        }
    }

    /// Through `delegsync serve`: a bootstrap asks the delegation's nameserver (NSD at
    /// 127.0.0.131, the glue in `parent.`), not the apex's (127.0.0.132 and .133, where nothing
    /// listens), and the key becomes trusted.
    func testBootstrapAsksTheDelegationNotTheApex() async throws {
        try Lab.skipUnlessAvailable(.nsd)
        guard let keygen = Tool.find("dnssec-keygen") else { throw XCTSkip("dnssec-keygen is not installed") }
        let keyDirectory = try Tool.temporaryDirectory("cohosted-key")
        defer { try? FileManager.default.removeItem(atPath: keyDirectory) }
        let made = try Tool.run(keygen, ["-q", "-T", "KEY", "-n", "HOST", "-a", "ED25519", "child.parent."], directory: keyDirectory)
        let keyBase = "\(keyDirectory)/\(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
        let keyRecord = try BINDKeyFile.load(path: keyBase + ".key").record
        let keyLine = "child.parent. IN KEY \(keyRecord.rdataPresentation)"
        let server = try LabServer.bind(
            zone: "parent.", zoneFileText: Self.parentZone, address: "127.0.0.130", port: 15330,
            moreZones: ["child.parent.": Self.childZone(keyLine: keyLine)])
        defer { server.stop() }
        let ns1 = try LabServer.nsd(zone: "child.parent.", zoneFileText: Self.childZone(keyLine: keyLine), address: "127.0.0.131", port: 53)
        defer { ns1.stop() }
        let agent = try await ServeIntegrationTests.startAgent(
            parent: server, port: 15430,
            backend: "{ type: rfc2136, tsig-key-file: \(server.tsigKeyFile!) }\n    bootstrap: { rounds: 2, minimum-interval: 1, maximum-interval: 2 }",
            importKey: false, keyBase: keyBase)
        defer { agent.stop() }
        let upload = try ServeIntegrationTests.nsupdate(
            agent, ["update delete child.parent. KEY", "update add child.parent. 3600 IN KEY \(keyRecord.rdataPresentation)"])
        XCTAssertEqual(upload.status, 0, "upload: \(upload.stdout)\(upload.stderr)\n\(agent.logText)")
        var status = ""
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(500))
            status = try Tool.run(ServeIntegrationTests.binary, ["status", "--config", agent.config, "child.parent."]).stdout
            if status.contains(": trusted, from bootstrap") || status.contains("failed:") { break }
        }
        XCTAssertTrue(status.contains(": trusted, from bootstrap"), status + "\n" + agent.logText)
        let audit = try Tool.run(ServeIntegrationTests.binary, ["audit", "--config", agent.config, "--child", "child.parent."]).stdout
        XCTAssertTrue(audit.contains("ns1.child.parent. 127.0.0.131: NOERROR aa"), audit)
        XCTAssertFalse(audit.contains("127.0.0.132") || audit.contains("127.0.0.133"), audit)
    }
}
