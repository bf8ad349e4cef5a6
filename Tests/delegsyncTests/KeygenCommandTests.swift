import Foundation
import SIG0
import XCTest

final class KeygenCommandTests: CommandLineTestCase {
    func testKeygenWritesBINDKeyFilesAndPrintsTheKEYRecord() throws {
        let result = try delegsync("keygen", "child.parent", "--algorithm", "13", "--flags", "256", "--directory", directory)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, result.stdout)
        XCTAssertTrue(lines[0].hasPrefix("Kchild.parent.+013+"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("child.parent. IN KEY 256 3 13 "), lines[1])

        let base = "\(directory)/\(lines[0])"
        let keyText = try String(contentsOfFile: base + ".key", encoding: .utf8)
        XCTAssertEqual(keyText.split(separator: "\n").filter { !$0.hasPrefix(";") }.map(String.init), [lines[1]])
        let key = try BINDKeyFile.load(path: base + ".private", requirePrivate: true)
        XCTAssertNotNil(key.privateKey)
        XCTAssertEqual(lines[0], key.baseName)
        let mode = try FileManager.default.attributesOfItem(atPath: base + ".private")[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    func testKeygenRefusesWhatItCannotMake() throws {
        assertUsageError(try delegsync("keygen", "child..parent.", "--directory", directory), mentioning: "child..parent.")
        assertUsageError(try delegsync("keygen", ".", "--directory", directory))
        assertUsageError(try delegsync("keygen", "child.parent.", "--algorithm", "DSA", "--directory", directory), mentioning: "DSA")
        assertUsageError(try delegsync("keygen", "child.parent.", "--algorithm", "5", "--directory", directory))
        assertUsageError(try delegsync("keygen", "child.parent.", "--flags", "257", "--directory", directory), mentioning: "257")
        assertUsageError(try delegsync("keygen", "child.parent.", "--directory", "\(directory)/missing"), mentioning: "missing")
        assertUsageError(try delegsync("keygen"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }
}
