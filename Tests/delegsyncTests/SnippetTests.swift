import Foundation
import TestSupport
import XCTest

/// Every zone-file and nameserver-configuration snippet an operator copies from docs/ or
/// contrib/ loads in the server it is for: docs/*.md snippets by their markers (``Snippet``),
/// every file under contrib/bind, contrib/knot and contrib/nsd as that server's configuration,
/// and the zone records in contrib's comments as part of the zone they name. The DSYNC record
/// comes from `delegsync publish-records` itself and must load in BIND, Knot and NSD. How a
/// fragment is completed before the check is said at ``Nameserver``.
final class SnippetTests: CommandLineTestCase {
    static func files(under directory: String) throws -> [String] {
        let base = repository.appendingPathComponent(directory).path
        guard let names = FileManager.default.enumerator(atPath: base)?.allObjects as? [String] else { return [] }
        return names.sorted().map { "\(base)/\($0)" }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    static func docs() throws -> (snippets: [Snippet], unmarked: [String]) {
        var snippets: [Snippet] = []
        var unmarked: [String] = []
        for path in try files(under: "docs") where path.hasSuffix(".md") {
            let found = try Snippet.markdown(String(contentsOfFile: path, encoding: .utf8), file: "docs/" + (path as NSString).lastPathComponent)
            snippets += found.snippets
            unmarked += found.unmarked
        }
        return (snippets, unmarked)
    }

    func requireCheckers() throws {
        for server in Nameserver.allCases { try server.requireTools() }
    }

    func assertLoads(_ check: SnippetCheck, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(check.passed, "\(what) does not load:\n\(check.report)", file: file, line: line)
    }

    // MARK: Finding the snippets

    func testEveryZoneOrConfigurationInTheDocsIsAMarkedSnippet() throws {
        let (snippets, unmarked) = try Self.docs()
        XCTAssertEqual(unmarked, [], "add a <!-- snippet: … --> marker (Tests/delegsyncTests/Snippet.swift) before the fenced block")
        // The docs do have snippets of every kind: an extraction that finds none would pass the rest.
        XCTAssertTrue(snippets.contains { if case .zone = $0.kind { true } else { false } }, "\(snippets)")
        for server in Nameserver.allCases where server != .nsd {
            XCTAssertTrue(snippets.contains { $0.kind == .configuration(server) }, "no \(server.configurationName) snippet in docs/")
        }
    }

    func testUnmarkedSnippetsAndBadMarkersAreFound() throws {
        let text = """
            # Title

            ```
            child.parent. 3600 IN NS ns1.child.parent.
            ```

                zone "child.example." { type primary; };

            <!-- snippet: knot.conf -->
            ```yaml
            zone:
              - domain: parent.
            ```

            - a list item:

              <!-- snippet: zone parent. bind knot -->
              ```dns
              a 3600 IN A 192.0.2.1
              ```

            """
        let found = try Snippet.markdown(text, file: "t.md")
        XCTAssertEqual(
            found.unmarked, ["t.md:4: child.parent. 3600 IN NS ns1.child.parent.", "t.md:7:     zone \"child.example.\" { type primary; };"])
        XCTAssertEqual(found.snippets.map(\.kind), [.configuration(.knot), .zone(origin: "parent.")])
        XCTAssertEqual(found.snippets.map(\.servers), [[.knot], [.bind, .knot]])
        XCTAssertEqual(found.snippets.map(\.text), ["zone:\n  - domain: parent.\n", "a 3600 IN A 192.0.2.1\n"])
        XCTAssertEqual(found.snippets.map(\.location), ["t.md:11", "t.md:19"])

        for bad in [
            "<!-- snippet: zone parent. -->\nsome prose\n", "<!-- snippet: unbound.conf -->\n```\nx\n```\n",
            "<!-- snippet: zone parent -->\n```\nx\n```\n", "<!-- snippet: zone parent. powerdns -->\n```\nx\n```\n",
            "<!-- snippet: named.conf -->\n",
        ] {
            XCTAssertThrowsError(try Snippet.markdown(bad, file: "t.md"), bad)
        }
    }

    // MARK: Loading them

    func testDocsSnippetsLoad() throws {
        try requireCheckers()
        for snippet in try Self.docs().snippets {
            for server in snippet.servers {
                switch snippet.kind {
                case .zone(let origin): assertLoads(try server.checkZone(snippet.text, origin: origin), "\(snippet) in \(server)")
                case .configuration: assertLoads(try server.checkConfiguration(snippet.text), "\(snippet) in \(server)")
                }
            }
        }
    }

    func testContribConfigurationsLoad() throws {
        try requireCheckers()
        var checked = 0
        for server in Nameserver.allCases {
            for path in try Self.files(under: "contrib/\(server)") {
                assertLoads(try server.checkConfiguration(String(contentsOfFile: path, encoding: .utf8)), path)
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 6)
    }

    /// The records a comment tells the operator to add (DSYNC, the target's address, `$INCLUDE`)
    /// load as part of the zone the file configures; in a server's directory by that server,
    /// elsewhere (delegsync.yaml) by all three.
    func testRecordsInContribCommentsLoad() throws {
        try requireCheckers()
        var checked = 0
        for path in try Self.files(under: "contrib") {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let records = Snippet.zoneLinesInComments(text)
            guard !records.isEmpty else { continue }
            let origin = try XCTUnwrap(
                Nameserver.matches(#"(?:zone\s+"|domain:\s*|name:\s*"?)([A-Za-z0-9.-]+\.)"#, in: text).first, "\(path): which zone?")
            let directory = (path as NSString).deletingLastPathComponent.components(separatedBy: "/").last ?? ""
            for server in Nameserver(rawValue: directory).map({ [$0] }) ?? Nameserver.allCases {
                assertLoads(try server.checkZone(records.joined(separator: "\n") + "\n", origin: origin), "the records in \(path)'s comments in \(server)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 6)
    }

    // MARK: The DSYNC record

    /// `delegsync publish-records` for the docs' examples: the target agent.parent., port 5302,
    /// or (`viaNameserver`, the forwarding layout) the parent's own nameserver on port 53.
    func publishRecords(viaNameserver: String? = nil) throws -> [String] {
        let key = try keygen("agent.parent.")
        let config = "\(directory)/delegsync.yaml"
        try """
        version: 1
        listen: [{ address: 192.0.2.80, port: 5302 }]
        store: { path: \(directory)/delegsync.sqlite }
        identity: { key-file: \(key).key }
        zones:
          - name: parent.
            primary: { address: 192.0.2.53 }
            backend: { type: rfc2136 }
            front: { address: 192.0.2.81 }

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let printed = try DelegsyncBinary.run(
            ["publish-records", "--config", config, "parent."] + (viaNameserver.map { ["--via-nameserver", $0] } ?? []), input: nil)
        XCTAssertEqual(printed.status, 0, printed.stderr)
        return printed.stdout.components(separatedBy: "\n").compactMap { line in
            line.hasPrefix("update add ") ? String(line.dropFirst("update add ".count)) : nil
        }
    }

    func testPublishRecordsOutputLoadsInBINDKnotAndNSD() throws {
        try requireCheckers()
        let records = try publishRecords()
        XCTAssertTrue(records.contains { $0.hasPrefix("*._dsync.parent. 3600 IN TYPE66 ") }, "\(records)")
        for server in Nameserver.allCases {
            assertLoads(try server.checkZone(records.joined(separator: "\n") + "\n", origin: "parent."), "publish-records in \(server)")
        }
    }

    /// Every DSYNC record in docs/ and contrib/, in either form, is one that publish-records
    /// prints for the same target and port (the agent's own, or the parent's nameserver in the
    /// forwarding layout), as BIND reads both.
    func testDSYNCRecordsInDocsAndContribAreWhatPublishRecordsPrints() throws {
        try Nameserver.bind.requireTools()
        var expected: [[String]] = []
        for via in [nil, "ns1.parent."] {
            let printed = try publishRecords(viaNameserver: via).filter { $0.contains(" TYPE66 ") }
            XCTAssertEqual(printed.count, 1, "\(printed)")
            expected.append(try Self.dsyncRDATA(printed))
        }
        XCTAssertEqual(expected, [["ANY 2 5302 agent.parent."], ["ANY 2 53 ns1.parent."]])

        var records = try Self.docs().snippets.flatMap { $0.text.components(separatedBy: "\n") }
        for path in try Self.files(under: "contrib") { records += Snippet.zoneLinesInComments(try String(contentsOfFile: path, encoding: .utf8)) }
        let dsync = records.filter { $0.contains(" DSYNC ") || $0.contains(" TYPE66 ") }
        XCTAssertGreaterThanOrEqual(dsync.count, 5, "\(dsync)")
        for record in dsync {
            XCTAssertTrue(expected.contains(try Self.dsyncRDATA([record])), record)
        }
    }

    /// The RDATA of the DSYNC records in `records` as BIND prints them (`named-checkzone -D`).
    static func dsyncRDATA(_ records: [String]) throws -> [String] {
        let directory = try Tool.temporaryDirectory("dsync")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/zone"
        try Nameserver.completeZone(records.joined(separator: "\n") + "\n", origin: "parent.").write(toFile: file, atomically: true, encoding: .utf8)
        let dumped = try Tool.run("named-checkzone", ["-D", "-o", "-", "parent.", file])
        guard dumped.status == 0 else { throw ToolError("named-checkzone: \(dumped.stdout)\(dumped.stderr)") }
        return dumped.stdout.components(separatedBy: "\n").compactMap { line in
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count > 4, fields[3] == "DSYNC" else { return nil }
            return fields.dropFirst(4).joined(separator: " ")
        }
    }

    // MARK: The checks can fail

    /// What the checks above rely on: each checker, on a completed snippet, refuses what a server
    /// would refuse (the wrong RDATA length of issue 12's DSYNC record: NSD 4.6 does not check it).
    func testCheckersRefuseBrokenSnippets() throws {
        try requireCheckers()
        let wrongLength = "*._dsync.parent. 3600 IN TYPE66 \\# 21 00FF0214B6056167656E7406706172656E7400\n"
        for server in [Nameserver.bind, .knot] {
            XCTAssertFalse(try server.checkZone(wrongLength, origin: "parent.").passed, "\(server) took \(wrongLength)")
        }
        for server in Nameserver.allCases {
            XCTAssertFalse(try server.checkZone("ns2 3600 IN A 192.0.2.300\n", origin: "parent.").passed, "\(server) took a bad address")
            XCTAssertTrue(try server.checkZone("ns2 3600 IN A 192.0.2.3\n", origin: "parent.").passed, "\(server) refused a good address")
        }
        let broken: [Nameserver: String] = [
            .bind: "zone \"parent.\" { type primary; file \"/var/lib/bind/parent.zone\"; notify-sometimes yes; };\n",
            .knot: "zone:\n  - domain: parent.\n    file: /var/lib/knot/parent.zone\n    acl: [no-such-acl]\n",
            .nsd: "zone:\n    name: \"parent.\"\n    zonefile-of-sorts: \"/etc/nsd/parent.zone\"\n",
        ]
        for (server, text) in broken {
            XCTAssertFalse(try server.checkConfiguration(text).passed, "\(server) took \(text)")
        }
        // A zone file a configuration names is written by the check; the key a BIND policy grants to is made.
        XCTAssertTrue(
            try Nameserver.bind.checkConfiguration(
                "include \"/etc/bind/k.key\";\nzone \"parent.\" { type primary; file \"/var/lib/bind/parent.zone\"; update-policy { grant k zonesub NS; }; };\n"
            ).passed)
    }
}
