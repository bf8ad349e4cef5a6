import DNSWire
import Foundation
import SIG0
import TestSupport
import XCTest

/// The content checks against real servers on loopback: BIND serves the parent zone with
/// `delegsync serve` in front of it, NSD serves the child zone on two addresses (ns1, ns2) with
/// a KSK made by dnssec-keygen, and a second BIND on a third address serves a copy of the parent
/// zone (asked for the child, it answers with a referral: not authoritative). A trusted child
/// key asks for a DS that matches no DNSKEY, for an NS whose server is not authoritative, and
/// for the removal of its last DS while NSD still serves the DNSKEY: each is refused on the wire
/// with REFUSED, EDE 18 and the rule in the text, and the parent serves what it served before.
/// The DS of the real KSK is committed, and the removal is committed once NSD publishes
/// `CDS 0 0 0 00`.
final class ContentCheckIntegrationTests: XCTestCase {
    func testAttacksAreRefusedAtTheWireAndHonestChangesCommitted() async throws {
        for kind in [LabServer.Kind.bind, .nsd] { try Lab.skipUnlessAvailable(kind) }
        guard let keygen = Tool.find("dnssec-keygen"), let dsFromKey = Tool.find("dnssec-dsfromkey") else {
            throw XCTSkip("BIND's dnssec tools are not installed")
        }
        let base = 170
        let parentAddress = "127.0.0.\(base)", ns1 = "127.0.0.\(base + 1)", ns2 = "127.0.0.\(base + 2)", lame = "127.0.0.\(base + 3)"
        let keys = try Tool.temporaryDirectory("content-ksk")
        defer { try? FileManager.default.removeItem(atPath: keys) }
        let made = try Tool.run(keygen, ["-q", "-a", "ED25519", "-f", "KSK", "child.parent."], directory: keys)
        XCTAssertEqual(made.status, 0, made.stderr)
        let kskBase = "\(keys)/\(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
        let dnskey = try String(contentsOfFile: kskBase + ".key", encoding: .utf8).split(separator: "\n").first { !$0.hasPrefix(";") }.map(String.init) ?? ""
        let realDS = try Record(Tool.run(dsFromKey, ["-2", kskBase + ".key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))

        let delegation = """
            child.parent.\t3600\tIN\tNS\tns1.child.parent.
            child.parent.\t3600\tIN\tNS\tns2.child.parent.
            ns1.child.parent.\t3600\tIN\tA\t\(ns1)
            ns2.child.parent.\t3600\tIN\tA\t\(ns2)

            """
        let parent = try LabServer.bind(zone: "parent.", zoneFileText: Lab.apex + delegation, address: parentAddress, port: 15300 + base)
        defer { parent.stop() }
        // Not authoritative for the child: a server of the parent zone refers instead.
        let referring = try LabServer.bind(zone: "parent.", zoneFileText: Lab.apex + delegation, address: lame, port: 53, tsigKeyName: nil)
        defer { referring.stop() }
        func childZone(_ serial: Int, _ extra: [String] = []) -> String {
            ([
                "$TTL 60", "child.parent. IN SOA ns1.child.parent. hostmaster.child.parent. \(serial) 3600 900 604800 60",
                "child.parent. IN NS ns1.child.parent.", "child.parent. IN NS ns2.child.parent.", "ns1.child.parent. IN A \(ns1)",
                "ns2.child.parent. IN A \(ns2)", dnskey,
            ] + extra).joined(separator: "\n") + "\n"
        }
        let child = try LabServer.nsd(zone: "child.parent.", zoneFileText: childZone(1), address: ns1, port: 53, alsoListenOn: [ns2])
        defer { child.stop() }
        let agent = try await ServeIntegrationTests.startAgent(
            parent: parent, port: 15400 + base, backend: "{ type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }")
        defer { agent.stop() }
        let before = try Lab.served(parent)

        func assertRefused(_ operations: [Update.Operation], rule: String, mentioning detail: String, line: UInt = #line) async throws {
            let reply = try await ServeIntegrationTests.send(agent, operations)
            let text = reply.edns?.extendedError?.extraText ?? "no EDE"
            XCTAssertEqual(reply.rcode, .refused, text, line: line)
            XCTAssertEqual(reply.edns?.extendedError?.infoCode, 18, text, line: line)
            XCTAssertTrue(text.hasPrefix("\(rule): "), text, line: line)
            XCTAssertTrue(text.contains(detail), "\(text) should mention \(detail)", line: line)
        }
        // A DS for a key the child does not serve (digest type 2, well-formed).
        try await assertRefused([.add(try Record(Lab.ds))], rule: "ds-no-matching-dnskey", mentioning: "ns1.child.parent. at \(ns1)")
        // A new NS whose server answers the child's SOA with a referral.
        try await assertRefused(
            [.add(try Record("child.parent. 3600 IN NS ns3.child.parent.")), .add(try Record("ns3.child.parent. 3600 IN A \(lame)"))],
            rule: "ns-not-authoritative", mentioning: "ns3.child.parent. at \(lame)")
        // Nothing at the parent changed.
        let unchanged = try Lab.served(parent)
        XCTAssertEqual(unchanged.ns, before.ns)
        XCTAssertEqual(unchanged.glue, before.glue)
        XCTAssertEqual(unchanged.ds, [])
        XCTAssertEqual(unchanged.serial, before.serial, "the parent changed")

        // The DS of the KSK both addresses serve is committed.
        let honest = try await ServeIntegrationTests.send(agent, [.add(realDS)])
        XCTAssertEqual(honest.rcode, .noError, (honest.edns?.extendedError?.extraText ?? "") + agent.logText)
        XCTAssertEqual(try Lab.served(parent).ds, [Lab.key(realDS)])

        // Removing it while NSD still serves the DNSKEY, without the delete signal: refused.
        try await assertRefused([.deleteRRset(try DomainName("child.parent."), .ds)], rule: "ds-removal-while-signed", mentioning: "CDS 0 0 0 00")
        XCTAssertEqual(try Lab.served(parent).ds, [Lab.key(realDS)])

        // The child publishes CDS 0 0 0 00 (RFC 8078 §4): the removal goes through.
        try child.reload(zoneFileText: childZone(2, ["child.parent. IN CDS 0 0 0 00"]))
        var published = false
        for _ in 0..<40 where !published {
            published = try child.dig(["+short", "child.parent.", "CDS"]).contains("0 0 0 00")
            if !published { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertTrue(published, child.logTail())
        let removal = try await ServeIntegrationTests.send(agent, [.deleteRRset(try DomainName("child.parent."), .ds)])
        XCTAssertEqual(removal.rcode, .noError, (removal.edns?.extendedError?.extraText ?? "") + agent.logText)
        XCTAssertEqual(try Lab.served(parent).ds, [])
    }
}
