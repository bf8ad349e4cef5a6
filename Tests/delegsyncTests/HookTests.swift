import Foundation
import TestSupport
import XCTest

/// hooks/delegsync-child-sync passes its one argument to delegsync as the zone, never as an
/// option: a "zone" like `--config=/tmp/other.yaml` must not choose another configuration.
final class HookTests: CommandLineTestCase {
    static let hook = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("hooks/delegsync-child-sync").path

    func testTheZoneIsNeverAnOption() throws {
        let fake = "\(directory)/fake-delegsync"
        try "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n".write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        let result = try Tool.run(
            "/usr/bin/env", ["DELEGSYNC=\(fake)", "DELEGSYNC_CONFIG=/etc/delegsync/child.yaml", "sh", Self.hook, "--config=/tmp/other.yaml"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(
            result.stdout.split(separator: "\n").map(String.init), ["child", "sync", "--config", "/etc/delegsync/child.yaml", "--", "--config=/tmp/other.yaml"])
    }
}
