import DNSWire
import Foundation
import Store
import TestSupport
import XCTest

/// `delegsync child status` exits non-zero when it cannot compare parent and child (issue 12),
/// with the status `sync` would have for the same cause. Nothing listens on 127.0.0.66.
final class ChildStatusCommandTests: CommandLineTestCase {
    /// The child's file, for `child.example.` with `more` keys; its path.
    func writeConfig(_ more: String = "") throws -> String {
        let config = "\(directory)/child.yaml"
        try """
        version: 1
        store: { path: \(directory)/child.sqlite }
        key-directory: \(directory)/keys
        children:
          - name: child.example.
            primary: { address: 127.0.0.66, port: 15366 }
            target: { address: 127.0.0.66, port: 15367 }
        \(more)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    func testCannotCompareIsNotSuccess() throws {
        let config = try writeConfig()
        let status = try delegsync("child", "status", "--config", config, "child.example.")
        XCTAssertEqual(status.status, 1, status.stdout + status.stderr)
        XCTAssertTrue(status.stdout.contains("now: cannot compare parent and child: "), status.stdout)
        XCTAssertTrue(status.stdout.contains("127.0.0.66"), status.stdout)
    }

    /// The last change `child watch` sent, from the store: scheme, time, the parent's answers,
    /// the warnings, and whether the parent was seen in step since (issue 14 item 5).
    func testShowsTheLastSchemeAndWhatTheParentAnswered() throws {
        let config = try writeConfig("    scheme: both\n")
        let before = try delegsync("child", "status", "--config", config, "child.example.")
        XCTAssertTrue(before.stdout.contains("scheme both: no change sent by delegsync child watch yet"), before.stdout)

        let store = try SQLiteStore(path: "\(directory)/child.sqlite")
        try store.putChildSchemeState(
            ChildSchemeState(
                child: DomainName("child.example."), scheme: "both", sentAt: 1_800_000_000, update: "REFUSED (EDE 18: prohibited)",
                notify: "CDS: NOERROR\nCSYNC: no answer", warnings: "the CSYNC of child.example. lacks the immediate flag"))
        let status = try delegsync("child", "status", "--config", config, "child.example.")
        XCTAssertEqual(status.status, 1, "the parent cannot be compared: \(status.stdout)")
        XCTAssertTrue(
            status.stdout.contains(
                """
                scheme both: last change sent 2027-01-15T08:00:00Z
                  UPDATE: REFUSED (EDE 18: prohibited)
                  NOTIFY CDS: NOERROR
                  NOTIFY CSYNC: no answer
                  warning: the CSYNC of child.example. lacks the immediate flag
                  the parent's delegation has not been seen to match the child since
                """), status.stdout)

        try store.putChildSchemeState(ChildSchemeState(child: DomainName("child.example."), scheme: "notify", sentAt: 1_800_000_000, inStepAt: 1_800_000_060))
        let later = try delegsync("child", "status", "--config", config, "child.example.")
        XCTAssertTrue(later.stdout.contains("  nothing sent: the zone publishes nothing the parent's scan would act on\n"), later.stdout)
        XCTAssertTrue(later.stdout.contains("  the parent's delegation matched the child at 2027-01-15T08:01:00Z\n"), later.stdout)
    }
}
