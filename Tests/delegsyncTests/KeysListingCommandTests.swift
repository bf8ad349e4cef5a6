import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store
import TestSupport
import XCTest

/// Issue 15, "a million children, the CLI stays small": `keys import --from` in batches,
/// `keys list` and `audit` streamed with `--child`, `--state`, `--since`, `--limit`.
final class KeysListingCommandTests: CommandLineTestCase {
    func configuration() throws -> String {
        let config = "\(directory)/delegsync.yaml"
        try """
        version: 1
        store: { path: \(directory)/state.sqlite }
        zones:
          - name: parent.
            primary: { address: 127.0.0.1 }
            backend: { type: script, output: "-" }
          - name: example.
            primary: { address: 127.0.0.1 }
            backend: { type: script, output: "-" }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// One KEY per line and a zone file ($ORIGIN, $TTL, relative and blank owners, comments,
    /// parentheses) import alike, each key into the zone it is a child of; batches of 2.
    func testImportFromFileInBatches() throws {
        let config = try configuration()
        let keys = try ["a.parent.", "b.parent.", "c.example.", "d.example.", "e.example."].map { try BINDKeyFile.generate(owner: DomainName($0)) }
        let lines = "; one KEY per line\n" + keys[0...1].map { $0.record.description }.joined(separator: "\n") + "\n"
        let zone = """
            $ORIGIN example.
            $TTL 600
            c   IN KEY \(keys[2].record.rdataPresentation)   ; relative owner
            d   KEY ( \(keys[3].record.rdataPresentation.split(separator: " ").prefix(3).joined(separator: " "))
                      \(keys[3].record.rdataPresentation.split(separator: " ").dropFirst(3).joined(separator: " ")) )
            e.example. 3600 IN KEY \(keys[4].record.rdataPresentation)

            """
        try lines.write(toFile: "\(directory)/lines.keys", atomically: true, encoding: .utf8)
        try zone.write(toFile: "\(directory)/keys.zone", atomically: true, encoding: .utf8)
        let first = try delegsync("keys", "import", "--config", config, "--from", "\(directory)/lines.keys", "--trusted", "--batch", "2")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("2 key(s) imported"), first.stdout)
        let second = try delegsync("keys", "import", "--config", config, "--from", "\(directory)/keys.zone", "--batch", "2")
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("3 key(s) imported"), second.stdout)

        let store = try SQLiteStore(path: "\(directory)/state.sqlite")
        for (index, key) in keys.enumerated() {
            let zone = try DomainName(index < 2 ? "parent." : "example.")
            let stored = try store.key(KeyIdentity(zone: zone, child: key.owner, rdata: key.keyData.rdata))
            XCTAssertEqual(stored?.state, index < 2 ? .trusted : .known, "\(key.owner)")
            XCTAssertEqual(stored?.origin, "import")
        }
    }

    /// A line that is not a usable KEY stops the import and names the line; nothing of a
    /// half-read batch is stored.
    func testImportNamesTheBadLine() throws {
        let config = try configuration()
        let good = try BINDKeyFile.generate(owner: DomainName("a.parent."))
        for (text, words) in [
            ("\(good.record.description)\nb.parent. 3600 IN NS ns.b.parent.\n", "line 2: a NS record, not KEY"),
            ("\(good.record.description)\nx.other. 3600 IN KEY \(good.record.rdataPresentation)\n", "line 2: x.other. is not a child of any configured zone"),
            ("\(good.record.description)\nb.parent. 3600 IN KEY 512 3 15 AAAA\n", "line 2:"),
            ("b.parent. KEY ( 512 3 15\n", "parenthesis is not closed"),
        ] {
            try text.write(toFile: "\(directory)/bad.keys", atomically: true, encoding: .utf8)
            assertUsageError(try delegsync("keys", "import", "--config", config, "--from", "\(directory)/bad.keys"), mentioning: words)
        }
        XCTAssertEqual(try SQLiteStore(path: "\(directory)/state.sqlite").keys(zone: nil, child: nil), [])
        assertUsageError(try delegsync("keys", "import", "--config", config, "--from", "\(directory)/missing.keys"), mentioning: "cannot read")
        assertUsageError(try delegsync("keys", "import", "--config", config), mentioning: "give either a .key file or --from FILE")
    }

    func testListAndAuditFilters() throws {
        let config = try configuration()
        let store = try SQLiteStore(path: "\(directory)/state.sqlite")
        let now = Int64(Date().timeIntervalSince1970)
        for (index, state) in [KeyTrustState.trusted, .known, .trusted, .revoked].enumerated() {
            let key = try BINDKeyFile.generate(owner: DomainName("c\(index).parent."))
            try store.putKey(
                StoredKey(
                    zone: DomainName("parent."), child: key.owner, keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: state,
                    addedAt: now - Int64(3 - index) * 86400, origin: "import"))
        }
        func children(_ arguments: String...) throws -> [String] {
            let result = try DelegsyncBinary.run(["keys", "list", "--config", config] + arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
        }
        XCTAssertEqual(try children(), ["c0.parent.", "c1.parent.", "c2.parent.", "c3.parent."])
        XCTAssertEqual(try children("--state", "trusted"), ["c0.parent.", "c2.parent."])
        XCTAssertEqual(try children("--since", "36h"), ["c2.parent.", "c3.parent."])
        XCTAssertEqual(try children("--since", "\(now - 2 * 86400 - 10)", "--limit", "1"), ["c1.parent."])
        XCTAssertEqual(try children("--child", "c3.parent"), ["c3.parent."])
        assertUsageError(try delegsync("keys", "list", "--config", config, "--state", "maybe"), mentioning: "known, trusted, revoked")
        assertUsageError(try delegsync("keys", "list", "--config", config, "--since", "yesterday"), mentioning: "--since yesterday")

        for (time, decision) in [(now - 7200, "REFUSED"), (now - 60, "NOERROR"), (now - 30, "REFUSED")] {
            try store.appendAudit(
                AuditEntry(time: time, source: "192.0.2.1:5353", transport: "tcp", zone: "parent.", signer: "c0.parent.", keyTag: 1, request: "", decision: decision, reason: "r"))
        }
        func decisions(_ arguments: String...) throws -> [String] {
            let result = try DelegsyncBinary.run(["audit", "--config", config] + arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout.split(separator: "\n").compactMap { line in ["NOERROR", "REFUSED"].first { line.contains(" \($0): ") } }
        }
        XCTAssertEqual(try decisions(), ["REFUSED", "NOERROR", "REFUSED"])
        XCTAssertEqual(try decisions("--state", "refused"), ["REFUSED", "REFUSED"])
        XCTAssertEqual(try decisions("--since", "1h"), ["REFUSED", "NOERROR"])
        XCTAssertEqual(try decisions("--limit", "1", "--child", "c0.parent."), ["REFUSED"])
    }
}
