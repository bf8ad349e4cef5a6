import Agent
import DNSWire
import Foundation
import XCTest

/// `zones[].scanner` and the NOTIFY limits: defaults, values, and errors that name the key.
final class ScannerConfigurationTests: XCTestCase {
    func parse(_ scanner: String, limits: String = "") throws -> AgentConfiguration {
        try AgentConfiguration.parse(
            """
            version: 1
            \(limits)
            zones:
              - name: parent.
                primary: { address: 127.0.0.1 }
                backend: { type: script, output: "-" }
                \(scanner)
            """)
    }

    func testDefaults() throws {
        let configuration = try parse("")
        let scanner = configuration.zones[0].scanner
        XCTAssertFalse(scanner.enabled)
        XCTAssertEqual(scanner.interval, 86400)
        XCTAssertEqual(scanner.bootstrap, .init(days: 3, scans: 3))
        XCTAssertNil(scanner.trustAnchor)
        XCTAssertEqual(configuration.limits.notifies, AgentConfiguration.NotifyLimits())
    }

    func testValuesAndTheTrustAnchor() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("anchor-\(UUID()).txt").path
        try ". 172800 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let configuration = try parse(
            "scanner: { enabled: true, interval: 0, bootstrap-days: 7, bootstrap-scans: 5, trust-anchor-file: \(file) }",
            limits: "limits: { notifies-per-child-per-hour: 2, notifies-per-source-per-hour: 3, notifies-per-hour: 4 }")
        let scanner = configuration.zones[0].scanner
        XCTAssertTrue(scanner.enabled)
        XCTAssertEqual(scanner.interval, 0)
        XCTAssertEqual(scanner.bootstrap, .init(days: 7, scans: 5))
        XCTAssertEqual(scanner.trustAnchor?.zone, .root)
        XCTAssertEqual(configuration.limits.notifies.perChildPerHour, 2)
        XCTAssertEqual(configuration.limits.notifies.perSourcePerHour, 3)
        XCTAssertEqual(configuration.limits.notifies.perHour, 4)
    }

    func testErrorsNameTheKey() throws {
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-anchor-\(UUID()).txt").path
        try "example. IN A 192.0.2.1\n".write(toFile: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let cases = [
            ("scanner: { interval: 60 }", "zones[0].scanner.interval"),
            ("scanner: { bootstrap-scans: 0 }", "zones[0].scanner.bootstrap-scans"),
            ("scanner: { trust-anchor-file: /nonexistent/anchor }", "zones[0].scanner.trust-anchor-file"),
            ("scanner: { trust-anchor-file: \(bad) }", "zones[0].scanner.trust-anchor-file"),
            ("scanner: { enable: true }", "zones[0].scanner"),
        ]
        for (text, key) in cases {
            XCTAssertThrowsError(try parse(text), text) { XCTAssertTrue("\($0)".contains(key), "\($0)") }
        }
    }
}
