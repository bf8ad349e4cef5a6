import Agent
import Foundation
import XCTest

/// `zones[].front` and `zones[].forwarders`: parsed, checked, and every mistake named.
extension AgentConfigurationTests {
    static let forwardingBase = """
        version: 1
        zones:
          - name: parent.
            primary: { address: 192.0.2.53 }
            backend: { type: rfc2136 }

        """

    func testFrontAndForwarders() throws {
        let configuration = try AgentConfiguration.parse(
            Self.forwardingBase + "    front: { address: 192.0.2.54 }\n    forwarders: [192.0.2.1, \"2001:DB8:0::1\"]\n")
        let zone = configuration.zones[0]
        XCTAssertEqual(zone.front?.address, "192.0.2.54")
        XCTAssertEqual(zone.front?.port, 53)
        XCTAssertEqual(zone.forwarders, ["192.0.2.1", "2001:db8::1"], "addresses are kept in one spelling")
        XCTAssertTrue(zone.isForwarder("192.0.2.1"))
        XCTAssertTrue(zone.isForwarder("2001:db8:0:0::1"))
        XCTAssertFalse(zone.isForwarder("192.0.2.2"))
        XCTAssertFalse(zone.isForwarder("not an address"))
        let plain = try AgentConfiguration.parse(Self.forwardingBase)
        XCTAssertNil(plain.zones[0].front)
        XCTAssertEqual(plain.zones[0].forwarders, [])
        XCTAssertFalse(plain.zones[0].isForwarder("192.0.2.1"))
    }

    /// The error without its line number (`x.yaml:6: …` → `x.yaml: …`); the line is tested with
    /// the reader.
    func unlined(_ text: String) -> String {
        text.replacingOccurrences(of: #"^x\.yaml:\d+:"#, with: "x.yaml:", options: .regularExpression)
    }

    func testFrontAndForwarderMistakesAreNamed() {
        XCTAssertEqual(
            unlined(error(Self.forwardingBase + "    front: { address: ns1.parent. }")), "x.yaml: zones[0].front.address: \"ns1.parent.\" is not an IPv4 or IPv6 address"
        )
        XCTAssertEqual(
            unlined(error(Self.forwardingBase + "    front: { port: 53 }")), "x.yaml: zones[0].front.address: missing: the address the secondaries list as their primary"
        )
        XCTAssertEqual(
            unlined(error(Self.forwardingBase + "    front: { address: 192.0.2.53, port: 53 }")),
            "x.yaml: zones[0].front: is the primary itself (192.0.2.53 port 53): the front needs an address or port of its own")
        XCTAssertTrue(unlined(error(Self.forwardingBase + "    front: { address: 192.0.2.54, via: x }")).hasPrefix("x.yaml: zones[0].front.via: unknown key"))
        XCTAssertEqual(
            unlined(error(Self.forwardingBase + "    forwarders: [192.0.2.1, ns2.parent.]")),
            "x.yaml: zones[0].forwarders[1]: \"ns2.parent.\" is not an IPv4 or IPv6 address (list the addresses the nameservers forward from)")
        XCTAssertEqual(unlined(error(Self.forwardingBase + "    forwarders: 192.0.2.1")), "x.yaml: zones[0].forwarders: must be a list of strings")
        XCTAssertEqual(
            unlined(error("version: 1\nlisten: [{ address: 192.0.2.54, port: 53 }]\n" + Self.forwardingBase.dropFirst(11) + "    front: { address: 192.0.2.54 }")),
            "x.yaml: zones[0].front: 192.0.2.54 port 53 is also a listen address: give the front an address or port of its own")
    }

    /// Two zones may share a front only with the same primary behind it.
    func testZonesShareAFrontOnlyWithTheirPrimary() throws {
        let second = "  - name: other.\n    primary: { address: 192.0.2.53 }\n    backend: { type: rfc2136 }\n    front: { address: 192.0.2.54 }\n"
        let shared = try AgentConfiguration.parse(Self.forwardingBase + "    front: { address: 192.0.2.54 }\n" + second)
        XCTAssertEqual(shared.zones[0].front, shared.zones[1].front)
        XCTAssertNotNil(shared.zones[1].front)
        XCTAssertEqual(
            unlined(error(Self.forwardingBase + "    front: { address: 192.0.2.54 }\n" + second.replacingOccurrences(of: "192.0.2.53", with: "192.0.2.99"))),
            "x.yaml: zones[1].front: parent. has the same front with another primary: zones share a front only when they share the primary behind it")
    }
}
