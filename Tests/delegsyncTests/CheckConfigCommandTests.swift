import Foundation
import TestSupport
import XCTest

/// `delegsync check-config` reads either file: the parent agent's and the child agent's (told
/// apart by `children:`); the commented samples in contrib/ pass, mistakes are named precisely.
final class CheckConfigCommandTests: CommandLineTestCase {
    static let contrib = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("contrib").path

    func testTheSamplesPass() throws {
        let parent = try delegsync("check-config", "--config", "\(Self.contrib)/delegsync.yaml")
        XCTAssertEqual(parent.status, 0, parent.stderr)
        XCTAssertTrue(parent.stdout.hasSuffix("ok (1 zone: parent.)\n"), parent.stdout)
        let child = try delegsync("check-config", "--config", "\(Self.contrib)/delegsync-child.yaml")
        XCTAssertEqual(child.status, 0, child.stderr)
        XCTAssertTrue(child.stdout.contains("ok, child agent (1 child: child.example.)"), child.stdout)
    }

    func testAChildConfigurationMistakeIsNamed() throws {
        let file = "\(directory)/child.yaml"
        try "version: 1\nchildren:\n  - name: child.example.\n    primary: { address: ns1.example }\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try delegsync("check-config", "--config", file)
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr, "error: \(file): children[0].primary.address: \"ns1.example\" is not an IPv4 or IPv6 address\n")
    }
}
