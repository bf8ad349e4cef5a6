import Agent
import Store
import XCTest

/// The `store` section: SQLite stays the default and the meaning of `store: { path: … }`;
/// `type: postgresql` takes a URL; what does not fit together is refused, naming the key.
final class StoreConfigurationTests: XCTestCase {
    func parse(_ store: String) throws -> AgentConfiguration {
        try AgentConfiguration.parse(
            """
            version: 1
            \(store)
            zones:
              - name: parent.
                primary: { address: 127.0.0.1 }
                backend: { type: script, output: "-" }
            """)
    }

    func testSQLiteIsTheDefault() throws {
        XCTAssertEqual(try parse("").store, StoreLocation())
        let file = try parse("store: { path: /tmp/x.sqlite }")
        XCTAssertEqual(file.store.kind, .sqlite)
        XCTAssertEqual(file.store.path, "/tmp/x.sqlite")
        XCTAssertEqual(file.storePath, "/tmp/x.sqlite")
        XCTAssertEqual(file.store.lease, 120)
    }

    func testPostgreSQL() throws {
        let shared = try parse("store: { type: postgresql, url: \"postgres://delegsync:pw@db:5433/d\", lease: 30, connections: 4 }").store
        XCTAssertEqual(shared.kind, .postgresql)
        XCTAssertEqual(shared.url, "postgres://delegsync:pw@db:5433/d")
        XCTAssertEqual(shared.lease, 30)
        XCTAssertEqual(shared.connections, 4)
        XCTAssertEqual(shared.description, "postgres://delegsync:%E2%80%A6@db:5433/d", "the password is not shown")
    }

    func testWhatDoesNotFitIsRefused() {
        for (store, key) in [
            ("store: { type: mysql }", "store.type"),
            ("store: { type: postgresql }", "store.url"),
            ("store: { type: postgresql, url: \"mysql://x@db/d\" }", "store.url"),
            ("store: { type: postgresql, url: \"postgres://x@db/d\", path: /tmp/x }", "store.path"),
            ("store: { url: \"postgres://x@db/d\" }", "store.url"),
            ("store: { path: /tmp/x, lease: 1 }", "store.lease"),
            ("store: { path: /tmp/x, connections: 0 }", "store.connections"),
            ("store: { path: /tmp/x, hosts: [a] }", "store.hosts"),
        ] {
            XCTAssertThrowsError(try parse(store), store) { error in
                XCTAssertTrue("\(error)".contains(key), "\(store): \(error)")
            }
        }
    }
}
