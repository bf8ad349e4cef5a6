import Foundation
import TestSupport
import XCTest

/// `delegsync child status` exits non-zero when it cannot compare parent and child (issue 12),
/// with the status `sync` would have for the same cause. Nothing listens on 127.0.0.66.
final class ChildStatusCommandTests: CommandLineTestCase {
    func testCannotCompareIsNotSuccess() throws {
        let config = "\(directory)/child.yaml"
        try """
        version: 1
        store: { path: \(directory)/child.sqlite }
        key-directory: \(directory)/keys
        children:
          - name: child.example.
            primary: { address: 127.0.0.66, port: 15366 }
            target: { address: 127.0.0.66, port: 15367 }

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let status = try delegsync("child", "status", "--config", config, "child.example.")
        XCTAssertEqual(status.status, 1, status.stdout + status.stderr)
        XCTAssertTrue(status.stdout.contains("now: cannot compare parent and child: "), status.stdout)
        XCTAssertTrue(status.stdout.contains("127.0.0.66"), status.stdout)
    }
}
