import Foundation
import TestSupport
import XCTest

/// `delegsync check-config` reads either file: the parent agent's and the child agent's (told
/// apart by `children:`); the commented samples in contrib/ pass, mistakes are named precisely,
/// with the file, the line, the key and what to fix; `--print` writes the effective
/// configuration (issue 12, "Stricter, friendlier config").
final class CheckConfigCommandTests: CommandLineTestCase {
    static let contrib = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("contrib").path

    /// A sample with its store (and key directory) moved into the test's directory.
    func sample(_ name: String) throws -> String {
        let text = try String(contentsOfFile: "\(Self.contrib)/\(name)", encoding: .utf8)
        let file = "\(directory)/\(name)"
        try text.replacingOccurrences(of: "/var/lib/delegsync", with: directory).write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func write(_ text: String, _ name: String = "delegsync.yaml") throws -> String {
        let file = "\(directory)/\(name)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The smallest parent file, its store in the test's directory.
    var minimal: String {
        """
        version: 1
        store: { path: \(directory)/state.sqlite }
        zones:
          - name: parent.
            primary: { address: 127.0.0.1 }
            backend: { type: rfc2136 }

        """
    }

    func testTheSamplesPass() throws {
        let parentFile = try sample("delegsync.yaml")
        let parent = try delegsync("check-config", "--config", parentFile)
        XCTAssertEqual(parent.status, 0, parent.stderr)
        XCTAssertTrue(parent.stdout.hasSuffix("ok (1 zone: parent.)\n"), parent.stdout)
        let child = try delegsync("check-config", "--config", try sample("delegsync-child.yaml"))
        XCTAssertEqual(child.status, 0, child.stderr)
        XCTAssertTrue(child.stdout.contains("ok, child agent (1 child: child.example.)"), child.stdout)
    }

    func testAChildConfigurationMistakeIsNamed() throws {
        let file = try write("version: 1\nchildren:\n  - name: child.example.\n    primary: { address: ns1.example }\n", "child.yaml")
        let result = try delegsync("check-config", "--config", file)
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr, "error: \(file):4: children[0].primary.address: \"ns1.example\" is not an IPv4 or IPv6 address\n")
    }

    /// Two `zones:` blocks: YAML's parser keeps the last and the first would be dropped without
    /// a word; both lines are named. A key repeated deeper down is found too, in either file.
    func testDuplicateKeysAreRefusedNamingBothLines() throws {
        let twice = try write(
            minimal + """
                zones:
                  - name: other.
                    primary: { address: 127.0.0.1 }
                    backend: { type: rfc2136 }

                """)
        assertUsageError(try delegsync("check-config", "--config", twice), mentioning: "\(twice):7: zones: given twice (first at line 3)")

        let nested = try write(minimal.replacingOccurrences(of: "primary: { address: 127.0.0.1 }", with: "primary: { address: 127.0.0.1, port: 53, port: 5353 }"))
        assertUsageError(try delegsync("check-config", "--config", nested), mentioning: "\(nested):5: zones[0].primary.port: given twice (first at line 5)")

        let child = try write(
            "version: 1\nstore: { path: \(directory)/c.sqlite }\nchildren:\n  - name: child.example.\n    primary: { address: 127.0.0.1 }\n    ttl: 60\n    ttl: 120\n",
            "child.yaml")
        assertUsageError(try delegsync("check-config", "--config", child), mentioning: "\(child):7: children[0].ttl: given twice (first at line 6)")
    }

    /// Unknown key, wrong type, out of range, bad address: each names the line of its key.
    func testSemanticErrorsCarryTheLine() throws {
        let cases: [(String, String, String)] = [
            ("    backend: { type: rfc2136 }", "    backend: { type: rfc2136, severs: [] }", ":6: zones[0].backend.severs: unknown key"),
            ("    backend: { type: rfc2136 }", "    backend: { type: rfc2136 }\n    ttl: [1]", ":7: zones[0].ttl: must be a whole number"),
            ("    backend: { type: rfc2136 }", "    backend: { type: rfc2136 }\n    ttl: 9999999", ":7: zones[0].ttl: 9999999 is outside 0–604800"),
            ("primary: { address: 127.0.0.1 }", "primary: { address: 300.0.0.1 }", ":5: zones[0].primary.address: \"300.0.0.1\" is not an IPv4"),
        ]
        for (index, (old, new, expected)) in cases.enumerated() {
            let file = try write(minimal.replacingOccurrences(of: old, with: new), "case\(index).yaml")
            assertUsageError(try delegsync("check-config", "--config", file), mentioning: file + expected)
        }
    }

    /// A binary file is described by where its binary data starts; none of it reaches the
    /// terminal. Text that is not UTF-8, or holds control characters, counts as binary.
    func testBinaryInputIsDescribedNeverEchoed() throws {
        let marker = "SECRET-MARKER"
        let inputs: [(name: String, bytes: [UInt8], offset: Int)] = [
            ("nul.yaml", Array("version: 1\n\(marker)".utf8) + [0, 1, 2] + Array(marker.utf8), 24),
            ("latin1.yaml", Array("version: 1\n# caf".utf8) + [0xE9] + Array("\n\(marker)\n".utf8), 16),
            ("escape.yaml", Array("version: 1\n".utf8) + [0x1B] + Array("[2J\(marker)\n".utf8), 11),
        ]
        for input in inputs {
            let file = "\(directory)/\(input.name)"
            try Data(input.bytes).write(to: URL(fileURLWithPath: file))
            let result = try delegsync("check-config", "--config", file)
            assertUsageError(result, mentioning: "\(file) is not a text file (binary data at byte \(input.offset))")
            XCTAssertFalse(result.stderr.contains(marker) || result.stdout.contains(marker), result.stderr)
        }
        // The executable itself, as a configuration.
        let executable = try XCTUnwrap(DelegsyncBinary.path)
        let result = try delegsync("check-config", "--config", executable)
        assertUsageError(result, mentioning: "is not a text file (binary data at byte 0)")
        XCTAssertLessThan(result.stderr.utf8.count, 200 + executable.utf8.count)
    }

    /// "cannot read FILE" says why, in the system's words.
    func testFileErrorsSayWhy() throws {
        assertUsageError(
            try delegsync("check-config", "--config", "\(directory)/absent.yaml"), mentioning: "cannot read \(directory)/absent.yaml: No such file or directory")
        assertUsageError(try delegsync("check-config", "--config", directory), mentioning: "cannot read \(directory): Is a directory")
        let tsig = try write(minimal.replacingOccurrences(of: "type: rfc2136", with: "type: rfc2136, tsig-key-file: \(directory)/none.key"))
        assertUsageError(
            try delegsync("check-config", "--config", tsig),
            mentioning: "\(tsig):6: zones[0].backend.tsig-key-file: cannot read \(directory)/none.key: No such file or directory")
    }

    /// The store's directory must exist (and be writable); check-config says so rather than
    /// "ok", and creates nothing.
    func testTheStoreDirectoryMustExist() throws {
        let file = try write(minimal.replacingOccurrences(of: "\(directory)/state.sqlite", with: "\(directory)/missing/state.sqlite"))
        assertUsageError(
            try delegsync("check-config", "--config", file),
            mentioning: "\(file):2: store.path: the store's directory \(directory)/missing: No such file or directory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(directory)/missing"))
        // The sample names /var/lib/delegsync: on a host without it, that is what is wrong.
        if !FileManager.default.fileExists(atPath: "/var/lib/delegsync") {
            assertUsageError(
                try delegsync("check-config", "--config", "\(Self.contrib)/delegsync.yaml"), mentioning: "store.path: the store's directory /var/lib/delegsync")
        }
    }

    /// Key files must load, not merely exist: the identity key pair, TSIG key files, the child's
    /// receiver key and key pairs.
    func testKeyFilesMustLoad() throws {
        let junk = try write("this is not a key\n", "junk.key")
        let identity = try write(minimal + "identity: { key-file: \(junk) }\n")
        assertUsageError(try delegsync("check-config", "--config", identity), mentioning: "\(identity):7: identity.key-file: \(junk)")
        let base = try keygen("agent.parent.")
        let good = try write(minimal + "identity: { key-file: \(base).private }\n", "good.yaml")
        XCTAssertEqual(try delegsync("check-config", "--config", good).status, 0)

        let tsig = try write(minimal.replacingOccurrences(of: "type: rfc2136", with: "type: rfc2136, tsig-key-file: \(junk)"), "tsig.yaml")
        assertUsageError(try delegsync("check-config", "--config", tsig), mentioning: "zones[0].backend.tsig-key-file: \(junk) is not a TSIG key file")

        let child = """
            version: 1
            store: { path: \(directory)/child.sqlite }
            key-directory: \(directory)/keys
            children:
              - name: child.example.
                primary: { address: 127.0.0.1 }
                receiver-key: RECEIVER

            """
        let receiver = try write(child.replacingOccurrences(of: "RECEIVER", with: junk), "child.yaml")
        assertUsageError(try delegsync("check-config", "--config", receiver), mentioning: "\(receiver):7: children[0].receiver-key: \(junk)")
        // A child key pair whose .private is broken.
        let keys = "\(directory)/keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        let pair = try keygen("child.example.", in: keys)
        try "Private-key-format: v1.3\nAlgorithm: 15 (ED25519)\nPrivateKey: !!!\n".write(toFile: pair + ".private", atomically: true, encoding: .utf8)
        let pairs = try write(child.replacingOccurrences(of: "RECEIVER", with: base + ".key"), "pairs.yaml")
        assertUsageError(try delegsync("check-config", "--config", pairs), mentioning: "\(pairs):3: key-directory: a key pair of child.example.: \(pair).private")
    }

    /// `--print`: every default filled in, as YAML that check-config reads back to the same
    /// configuration — printing the printed file gives the same text again.
    func testPrintWritesTheEffectiveConfigurationThatReadsBack() throws {
        let base = try keygen("agent.parent.")
        let tsig = try write("key \"tsig-key.\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\";\n};\n", "tsig.key")
        let parent = try write(
            minimal.replacingOccurrences(of: "type: rfc2136", with: "type: rfc2136, tsig-key-file: \(tsig), server: \"::1\", port: 5353")
                + "identity: { key-file: \(base).private }\nlog-level: debug\nlimits: { udp-updates: answer, change-deadline: 600 }\n")
        let child = try write(
            """
            version: 1
            store: { path: \(directory)/child.sqlite }
            key-directory: \(directory)/keys
            resolver: { address: 127.0.0.53 }
            children:
              - name: child.example
                primary: { address: 127.0.0.1, port: 5300 }
                servers: [{ address: 192.0.2.1 }]
                publish: { type: print }
                algorithm: ecdsap256sha256

            """, "child.yaml")
        for (file, expected) in [(parent, ["log-level: debug", "udp-updates: answer", "max-message-size: 16384", "methods: [unsigned, manual]"]),
            (child, ["name: child.example.", "interval: 3600", "algorithm: ECDSAP256SHA256", "parent-servers: []"])]
        {
            let printed = try delegsync("check-config", "--config", file, "--print")
            XCTAssertEqual(printed.status, 0, printed.stderr)
            for text in expected { XCTAssertTrue(printed.stdout.contains(text), "\(text) not in:\n\(printed.stdout)") }
            let again = try write(printed.stdout, "printed-\(URL(fileURLWithPath: file).lastPathComponent)")
            let check = try delegsync("check-config", "--config", again)
            XCTAssertEqual(check.status, 0, check.stderr)
            let reprinted = try delegsync("check-config", "--config", again, "--print")
            XCTAssertEqual(Self.body(reprinted.stdout), Self.body(printed.stdout))
        }
    }

    /// The YAML without its comment lines (the header names the file).
    static func body(_ text: String) -> String {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
    }
}
