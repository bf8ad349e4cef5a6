import Agent
import ChildAgent
import Foundation
import TestSupport
import XCTest

/// `check-config --print` (issue 12): the effective configuration as YAML, every default filled
/// in. Parsing it gives the same configuration, and it names every key the commented samples
/// document (a key added to the parser and the sample but not to the printer fails here).
final class ConfigurationPrintTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = try Tool.temporaryDirectory("config-print")
        for name in ["Kagent.parent.+015+01234.private", "tsig.key", "Kagent.parent.+015+01234.key"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: "\(directory)/\(name)", contents: Data("x\n".utf8)))
        }
        // The root's KSK-2017 as a DS record: a trust anchor for zones[].scanner.
        let anchor = ". 86400 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(directory)/root.anchor", contents: Data(anchor.utf8)))
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Every key set, none at its default where it has one.
    var parent: String {
        """
        version: 1
        listen: [{ address: "::1", port: 5353 }, { address: 127.0.0.1, port: 5354 }]
        store: { path: \(directory)/state.sqlite }
        log-level: debug
        signature: { allowed-skew: 60, maximum-validity: 600 }
        limits:
          max-message-size: 4096
          max-tcp-connections: 17
          tcp-idle-timeout: 3
          max-in-flight: 5
          max-tcp-connections-per-source: 2
          max-tcp-connections-per-prefix: 4
          tcp-message-timeout: 2
          max-bytes-per-connection: 9999
          udp-replies-per-source-per-second: 0
          udp-updates: answer
          updates-per-child-per-hour: 3
          uploads-per-source-per-hour: 4
          uploads-per-prefix-per-hour: 5
          uploads-per-hour: 6
          inquiries-per-source-per-hour: 7
          inquiries-per-hour: 8
          pending-jobs-per-child: 2
          change-deadline: 120
          retention-days: 7
          verifications-per-source-per-second: 9
          max-verifications-in-flight: 3
          notifies-per-child-per-hour: 2
          notifies-per-source-per-hour: 11
          notifies-per-hour: 99
        keystate-option-code: 65010
        identity: { key-file: \(directory)/Kagent.parent.+015+01234.private }
        metrics: { address: 127.0.0.1, port: 9999 }
        events:
          command: [/usr/local/libexec/delegsync-event, -m, hostmaster@example.net]
          webhook: http://127.0.0.1:8080/delegsync
          types: [key-trusted, backend-failing]
          backend-failing-after: 30
          out-of-step-after: 6
          timeout: 20
          queue-size: 64
        zones:
          - name: Parent
            primary: { address: 192.0.2.53, port: 5300 }
            ttl: 60
            backend:
              type: script
              server: 192.0.2.54
              port: 5301
              tsig-key-file: \(directory)/tsig.key
              command: [/usr/local/bin/apply, "yes", "0755", -k]
              output: "-"
              zone-file: /etc/nsd/parent.zone
              fragment-file: /etc/nsd/parent.delegations
              nsd-control-config: /etc/nsd/nsd.conf
            policy: { max-changes: 4, max-prerequisites: 0, max-nameservers: 3, max-ds: 2 }
            bootstrap:
              methods: [manual]
              rounds: 5
              minimum-interval: 10
              maximum-interval: 20
              deadline: 3600
              on-failure: restart
              confirmation: command
              approval-command: [/usr/local/bin/approve, --quiet]
              resolver: { address: 192.0.2.99, port: 5399 }
              publish-key: false
            content-checks: { ns-authoritative: false, ds-matches-dnskey: false, ds-removal-needs-cds-delete: false }
            scanner: { enabled: true, interval: 3600, bootstrap-days: 7, bootstrap-scans: 5, trust-anchor-file: \(directory)/root.anchor }
            front: { address: 192.0.2.200, port: 53 }
            forwarders: [192.0.2.201, 2001:db8::201]
          - name: other.
            primary: { address: 192.0.2.55 }
            backend: { type: rfc2136 }

        """
    }

    var child: String {
        """
        version: 1
        store: { path: \(directory)/child.sqlite }
        key-directory: \(directory)/keys
        resolver: { address: 127.0.0.53, port: 5353 }
        dsync-validation: anchor
        trust-anchor-file: \(directory)/root.anchor
        log-level: warning
        watch:
          listen: [{ address: 127.0.0.1, port: 5400 }, { address: "::1" }]
          debounce: 1
          interval: 60
        children:
          - name: child.example.
            primary: { address: 192.0.2.1, port: 5300 }
            servers: [{ address: 192.0.2.2 }, { address: 192.0.2.3, port: 5301 }]
            publish: { type: rfc2136, tsig-key-file: \(directory)/tsig.key }
            target: { address: 192.0.2.4, port: 5302 }
            receiver-key: \(directory)/Kagent.parent.+015+01234.key
            parent-servers: [{ address: 192.0.2.5 }]
            ttl: 60
            algorithm: ECDSAP384SHA384
            scheme: both
          - name: other.example.
            primary: { address: 192.0.2.6 }
            publish: { type: print }

        """
    }

    func testTheParentsPrintedConfigurationParsesToTheSame() throws {
        let configuration = try AgentConfiguration.parse(parent, file: "full.yaml")
        let printed = try configuration.yaml(header: ["a header"])
        XCTAssertTrue(printed.hasPrefix("# a header\n"), printed)
        XCTAssertEqual(try AgentConfiguration.parse(printed, file: "printed.yaml"), configuration, printed)
        let postgres = try AgentConfiguration.parse(
            parent.replacingOccurrences(
                of: "store: { path: \(directory)/state.sqlite }", with: "store: { type: postgresql, url: \"postgres://delegsync@db.example:5433/d\", lease: 30 }"),
            file: "postgres.yaml")
        XCTAssertEqual(postgres.store.kind, .postgresql)
        XCTAssertEqual(try AgentConfiguration.parse(postgres.yaml(), file: "printed.yaml"), postgres)
        let defaults = try AgentConfiguration.parse(
            "version: 1\nzones: [{ name: parent., primary: { address: 127.0.0.1 }, backend: { type: rfc2136 } }]\n", file: "minimal.yaml")
        XCTAssertEqual(try AgentConfiguration.parse(defaults.yaml(), file: "printed.yaml"), defaults)
    }

    func testTheChildsPrintedConfigurationParsesToTheSame() throws {
        let configuration = try ChildConfiguration.parse(child, file: "child.yaml")
        XCTAssertEqual(try ChildConfiguration.parse(configuration.yaml(), file: "printed.yaml"), configuration)
    }

    /// Every key path the commented sample documents is printed for a file that sets them all.
    func testEveryKeyOfTheSamplesIsPrinted() throws {
        // A store is SQLite (path) or PostgreSQL (url), never both: the sample documents both.
        let postgres = parent.replacingOccurrences(
            of: "store: { path: \(directory)/state.sqlite }",
            with: "store: { type: postgresql, url: \"postgres://delegsync@127.0.0.1:5432/delegsync\", lease: 30, connections: 3 }")
        XCTAssertNotEqual(postgres, parent)
        let pairs: [(sample: String, printed: String)] = [
            ("contrib/delegsync.yaml", try AgentConfiguration.parse(parent).yaml() + AgentConfiguration.parse(postgres).yaml()),
            ("contrib/delegsync-child.yaml", try ChildConfiguration.parse(child).yaml()),
        ]
        for (sample, printed) in pairs {
            let documented = SampleKeys.paths(in: try ConfigurationReferenceTests.read(sample))
            let shown = Set(SampleKeys.paths(in: printed))
            XCTAssertFalse(documented.isEmpty)
            XCTAssertEqual(documented.filter { !shown.contains($0) }, [], "keys of \(sample) that --print leaves out")
            XCTAssertEqual(shown.subtracting(documented).sorted(), [], "keys --print shows that \(sample) does not document")
        }
    }
}
