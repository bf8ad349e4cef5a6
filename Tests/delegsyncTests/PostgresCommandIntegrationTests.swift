import DNSWire
import Foundation
import SIG0
import TestSupport
import XCTest

/// The operator's commands on a PostgreSQL store (issue 15): `keys list`, `audit` and `status`
/// only read — before an agent or an import created the schema they say so and create nothing —
/// and they see what `keys import --from` wrote. Starts its own PostgreSQL on 127.0.0.1:25436;
/// needs the lab lock.
final class PostgresCommandIntegrationTests: CommandLineTestCase {
    func testReadingCommandsOnPostgreSQL() throws {
        if let missing = PostgresLab.missing { throw XCTSkip(missing) }
        let postgres = try PostgresLab(port: 25436)
        defer { postgres.stop() }
        let url = try postgres.createDatabase("commands")
        let config = "\(directory)/delegsync.yaml"
        try """
        version: 1
        listen: [{ address: 127.0.0.70, port: 16010 }]
        store: { type: postgresql, url: "\(url)" }
        zones:
          - name: parent.
            primary: { address: 127.0.0.1 }
            backend: { type: script, output: "-" }

        """.write(toFile: config, atomically: true, encoding: .utf8)

        for command in [["keys", "list"], ["keys", "pending"], ["audit"], ["status", "c0.parent"]] {
            assertUsageError(try DelegsyncBinary.run(command + ["--config", config]), mentioning: "no delegsync schema yet")
        }
        let agentless = try delegsync("status", "--config", config)
        XCTAssertEqual(agentless.status, 3, agentless.stdout + agentless.stderr)
        XCTAssertTrue(agentless.stdout.contains("no delegsync schema yet"), agentless.stdout)
        XCTAssertEqual(
            try postgres.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: "commands").trimmingCharacters(
                in: .whitespacesAndNewlines), "0", "the readers created nothing")

        let keys = try (0..<3).map { try BINDKeyFile.generate(owner: DomainName("c\($0).parent.")) }
        try keys.map(\.record.description).joined(separator: "\n").write(toFile: "\(directory)/children.keys", atomically: true, encoding: .utf8)
        let imported = try delegsync("keys", "import", "--config", config, "--from", "\(directory)/children.keys", "--trusted")
        XCTAssertEqual(imported.status, 0, imported.stderr)
        let listed = try delegsync("keys", "list", "--config", config, "--limit", "2")
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual(listed.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }, ["c0.parent.", "c1.parent."])
        let child = try delegsync("status", "--config", config, "c2.parent")
        XCTAssertEqual(child.status, 0, child.stderr)
        XCTAssertTrue(child.stdout.contains("key \(keys[2].keyTag) (ED25519): trusted, from import"), child.stdout)
        let down = try delegsync("status", "--config", config)
        XCTAssertEqual(down.status, 3, down.stdout + down.stderr)
        XCTAssertTrue(down.stdout.contains("outbox: 0 change(s) waiting"), down.stdout)
    }
}
