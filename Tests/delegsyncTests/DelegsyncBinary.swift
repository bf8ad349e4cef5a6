import Foundation
import TestSupport
import XCTest

/// The built `delegsync` executable, run as a subprocess the way an operator runs it.
///
/// SwiftPM builds it before these tests (this target depends on `delegsync`) and puts it in
/// the products directory, `.build/<triple>/<configuration>/`, next to the tests:
/// - Linux: the tests are the executable `<package>PackageTests.xctest` in that directory, so
///   the directory is `Bundle.main.bundleURL`;
/// - macOS: the tests are the bundle `<package>PackageTests.xctest` in that directory, loaded by
///   Xcode's `xctest`, so the directory is the parent of `Bundle(for:)`'s URL.
/// `DELEGSYNC_BINARY` overrides both, e.g. to run these tests against an installed binary.
enum DelegsyncBinary {
    static let candidates: [String] = {
        if let path = ProcessInfo.processInfo.environment["DELEGSYNC_BINARY"] { return [path] }
        let directories = [
            Bundle.main.bundleURL,
            Bundle(for: CommandLineTestCase.self).bundleURL.deletingLastPathComponent(),
        ]
        return directories.map { $0.appendingPathComponent("delegsync").path }
    }()

    static let path: String? = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }

    static func run(_ arguments: [String], input: Data? = nil) throws -> Tool.Result {
        guard let path else {
            throw ToolError("no delegsync executable at \(candidates.joined(separator: " or ")); run swift build first")
        }
        return try Tool.run(path, arguments, input: input)
    }
}

/// A temporary directory per test and a short way to run `delegsync`.
class CommandLineTestCase: XCTestCase {
    /// The repository's working tree (docs/, contrib/, the Makefile).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The committed SIG(0) vectors and BIND captures (see their README).
    static let vectors = repository.appendingPathComponent("Tests/SIG0Tests/Vectors").path

    var directory = ""

    override func setUpWithError() throws {
        directory = try Tool.temporaryDirectory("delegsync-cli")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    func delegsync(_ arguments: String..., input: Data? = nil) throws -> Tool.Result {
        try DelegsyncBinary.run(arguments, input: input)
    }

    /// Writes `delegsync.yaml` in the test's directory: the parent zone `parent.` with the
    /// script backend, the store `state.sqlite` beside it, `zoneLines` added to the zone.
    func writeParentConfig(zoneLines: [String] = []) throws -> String {
        let config = "\(directory)/delegsync.yaml"
        let zone = (["  - name: parent.", "    primary: { address: 127.0.0.1 }", "    backend: { type: script, output: \"-\" }"] + zoneLines.map { "    " + $0 })
        try (["version: 1", "store: { path: \(directory)/state.sqlite }", "zones:"] + zone + [""]).joined(separator: "\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// Runs `keygen` into `directory` (default: the test's) and returns the key files' base path.
    func keygen(_ name: String = "child.parent.", algorithm: String = "ED25519", in directory: String? = nil) throws -> String {
        let directory = directory ?? self.directory
        let result = try delegsync("keygen", name, "--algorithm", algorithm, "--directory", directory)
        guard result.status == 0, let base = result.stdout.split(separator: "\n").first else {
            throw ToolError("keygen \(name) \(algorithm) failed: \(result.stderr)")
        }
        return "\(directory)/\(base)"
    }

    /// Asserts the failure contract: status 2, exactly one line on stderr, `error: …`.
    func assertUsageError(_ result: Tool.Result, mentioning text: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 2, result.stdout + result.stderr, file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("error: "), result.stderr, file: file, line: line)
        if let text { XCTAssertTrue(result.stderr.contains(text), "\(text) not in: \(result.stderr)", file: file, line: line) }
    }
}
