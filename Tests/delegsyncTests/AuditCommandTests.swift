import Foundation
import Store
import TestSupport
import XCTest

/// `delegsync audit` keeps one entry's header on one line whatever the stored texts hold
/// (issue 12: a backend error text with a newline broke the layout).
final class AuditCommandTests: CommandLineTestCase {
    func testControlCharactersInStoredTextsDoNotBreakTheLayout() throws {
        let config = try writeParentConfig()
        do {
            let store = try SQLiteStore(path: "\(directory)/state.sqlite")
            try store.appendAudit(
                AuditEntry(
                    time: 1_800_000_000, source: "192.0.2.1", transport: "tcp", zone: "parent.", signer: "child.parent.", keyTag: 7,
                    request: "child.parent.\t3600\tIN\tNS\tns1.child.parent.\nchild.parent.\t3600\tIN\tNS\tns2.child.parent.", decision: "SERVFAIL",
                    reason: "backend failed: nsupdate exited 2:\nline 2 of stderr\r\u{1B}[31mred",
                    backendResult: "update failed: SERVFAIL\n; TSIG error with server\n"))
        }
        let audit = try delegsync("audit", "--config", config)
        XCTAssertEqual(audit.status, 0, audit.stderr)
        let lines = audit.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 4, audit.stdout)
        XCTAssertTrue(
            lines[0].hasSuffix("SERVFAIL: backend failed: nsupdate exited 2:\\nline 2 of stderr\\r\\u{1B}[31mred"), String(lines[0]))
        XCTAssertEqual(lines[1], "    child.parent.\t3600\tIN\tNS\tns1.child.parent.")
        XCTAssertEqual(lines[3], "    backend: update failed: SERVFAIL\\n; TSIG error with server\\n")
        XCTAssertFalse(audit.stdout.contains("\u{1B}"), "an escape sequence reached the terminal")
    }
}
