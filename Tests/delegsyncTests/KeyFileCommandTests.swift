import Foundation
import TestSupport
import XCTest

/// Key files named on the command line (issue 12): read from exactly the path given — a base
/// name `K<name>+<alg>+<tag>` is taken as such only when no file has that name, and the error
/// names the paths tried; errors say why in the system's words; a binary file is described,
/// never echoed.
final class KeyFileCommandTests: CommandLineTestCase {
    var config = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        config = try writeParentConfig()
    }

    func testImportReadsExactlyThePathGiven() throws {
        let base = try keygen()
        // A .key file under another name is read from that name, not from NAME.key.
        let renamed = "\(directory)/child-key.txt"
        try FileManager.default.copyItem(atPath: base + ".key", toPath: renamed)
        let imported = try delegsync("keys", "import", "--config", config, renamed)
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(imported.stdout.contains("child.parent. key"), imported.stdout)

        // A missing file is named as given: no `.key` appended behind the operator's back.
        assertUsageError(
            try delegsync("keys", "import", "--config", config, "\(directory)/absent.key"),
            mentioning: "cannot read \(directory)/absent.key: No such file or directory")
        let missing = try delegsync("keys", "import", "--config", config, "\(directory)/absent.key")
        XCTAssertFalse(missing.stderr.contains("absent.key.key"), missing.stderr)
        // A name that is neither a file nor a base name: both paths tried are named.
        assertUsageError(
            try delegsync("keys", "import", "--config", config, "\(directory)/Kchild.parent.+015+00001"),
            mentioning: "cannot read \(directory)/Kchild.parent.+015+00001: No such file or directory (nor \(directory)/Kchild.parent.+015+00001.key")
        // The base name BIND prints still works.
        let byBase = try delegsync("keys", "import", "--config", config, base)
        XCTAssertEqual(byBase.status, 0, byBase.stderr)
    }

    func testBinaryAndUnreadableKeyFilesAreDescribed() throws {
        let binary = "\(directory)/Kchild.parent.+015+12345.key"
        try Data([0x7F, 0x45, 0x4C, 0x46, 0, 0x53, 0x45, 0x43, 0x52, 0x45, 0x54]).write(to: URL(fileURLWithPath: binary))
        let imported = try delegsync("keys", "import", "--config", config, binary)
        assertUsageError(imported, mentioning: "\(binary) is not a text file (binary data at byte 0)")
        XCTAssertFalse(imported.stderr.contains("SECRET"), imported.stderr)
        assertUsageError(try delegsync("keys", "import", "--config", config, directory + "/"), mentioning: "Is a directory")
        // `message` reads keys the same way.
        let message = "\(directory)/m.bin"
        try Data([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).write(to: URL(fileURLWithPath: message))
        assertUsageError(try delegsync("message", "verify", message, "--key", binary), mentioning: "is not a text file (binary data at byte 0)")
        assertUsageError(
            try delegsync("message", "decode", "\(directory)/absent.bin"), mentioning: "cannot read \(directory)/absent.bin: No such file or directory")
    }
}
