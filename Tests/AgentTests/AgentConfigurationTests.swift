import Agent
import Foundation
import XCTest

final class AgentConfigurationTests: XCTestCase {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("contrib/delegsync.yaml").path

    func testSampleConfigurationIsValidAndShowsTheDefaults() throws {
        let configuration = try AgentConfiguration.load(path: Self.sample)
        XCTAssertEqual(configuration.zones.map(\.name.description), ["parent."])
        XCTAssertEqual(configuration.listen.first?.port, 5302)
        XCTAssertEqual(configuration.zones[0].ttl, 3600)
        XCTAssertEqual(configuration.signature.allowedSkew, 300)
        XCTAssertEqual(configuration.limits.updatesPerChildPerHour, 20)
        // The sample spells out every default: a file with only the required keys is the same.
        let minimal = try AgentConfiguration.parse(
            """
            version: 1
            zones:
              - name: parent.
                primary: { address: 127.0.0.1 }
                backend: { type: rfc2136 }
            """)
        XCTAssertEqual(minimal, configuration)
    }

    /// What parsing `text` as x.yaml says, or "no error".
    func error(_ text: String) -> String {
        do {
            _ = try AgentConfiguration.parse(text, file: "x.yaml")
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testErrorsNameFileKeyAndWhatIsWrong() {
        XCTAssertEqual(error("zones: []"), "x.yaml: version: missing (write version: 1)")
        XCTAssertEqual(error("version: 2"), "x.yaml:1: version: version 2 is not supported (this delegsync reads version 1)")
        XCTAssertTrue(error("version: 1\nlisten: [{address: 127.0.0.1, prot: 5}]").hasPrefix("x.yaml:2: listen[0].prot: unknown key"))
        XCTAssertEqual(error("version: 1\nzones: []"), "x.yaml:2: zones: missing or empty: list at least one parent zone")
        let base = "version: 1\nzones:\n  - name: parent.\n    primary: { address: 127.0.0.1 }\n"
        XCTAssertEqual(
            error(base + "    backend: { type: ftp }"), "x.yaml:5: zones[0].backend.type: unknown backend \"ftp\" (use rfc2136, nsupdate, nsd or script)")
        XCTAssertEqual(
            error(base + "    backend: { type: nsd }"),
            "x.yaml:5: zones[0].backend.zone-file: missing: the nsd backend needs zone-file, fragment-file and nsd-control-config")
        XCTAssertEqual(
            error(base + "    backend: { type: rfc2136, tsig-key-file: /nonexistent }"),
            "x.yaml:5: zones[0].backend.tsig-key-file: cannot read /nonexistent: No such file or directory")
        XCTAssertEqual(error(base + "    ttl: -1\n    backend: { type: rfc2136 }"), "x.yaml:5: zones[0].ttl: -1 is outside 0–604800")
        XCTAssertEqual(
            error("version: 1\nzones:\n  - name: parent.\n    primary: { address: localhost }\n    backend: { type: rfc2136 }"),
            "x.yaml:4: zones[0].primary.address: \"localhost\" is not an IPv4 or IPv6 address")
        XCTAssertTrue(error("version: [").hasPrefix("x.yaml:1: not valid YAML"))
        let script = base + "    backend: { type: script, output: \"-\" }\n"
        XCTAssertEqual(
            error(script + "    bootstrap: { methods: [unsigned, at-nameserver] }"),
            "x.yaml:6: zones[0].bootstrap.methods[1]: \"at-nameserver\" is not a bootstrap method offered here (unsigned, manual, at-apex, at-ns)")
        XCTAssertEqual(
            error(script + "    bootstrap: { methods: [unsigned, at-ns] }"),
            "x.yaml:6: zones[0].bootstrap.methods: at-ns needs a trust anchor: set zones[0].scanner.trust-anchor-file (the same anchor RFC 9615 signals use)")
        XCTAssertEqual(error(script + "    bootstrap: { methods: [manual, manual] }"), "x.yaml:6: zones[0].bootstrap.methods: lists a method twice")
    }
}
