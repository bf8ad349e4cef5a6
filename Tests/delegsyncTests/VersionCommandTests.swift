import XCTest

final class VersionCommandTests: CommandLineTestCase {
    func testVersionPrintsNameAndVersion() throws {
        let result = try delegsync("version")
        XCTAssertEqual(result.status, 0, result.stderr)
        let version = try delegsync("--version").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(version.isEmpty)
        XCTAssertEqual(result.stdout, "delegsync \(version)\n")
    }
}
