import DNSWire
import Foundation
import TestSupport
import XCTest

/// Runs the built `delegsync` binary as an operator would.
final class CommandLineTests: XCTestCase {
    /// The binary sits in the products directory next to the test bundle (`.build/<config>/`),
    /// which SwiftPM builds first because this target depends on the executable.
    static let binary: String = {
        let products = Bundle.main.bundleURL
        for candidate in [products, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("delegsync").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return products.appendingPathComponent("delegsync").path
    }()

    static let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SIG0Tests/Vectors").path

    var directory = ""

    override func setUpWithError() throws {
        directory = try Tool.temporaryDirectory("delegsync-cli")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    func delegsync(_ arguments: String..., input: Data? = nil) throws -> Tool.Result {
        try Tool.run(Self.binary, arguments, input: input)
    }

    func unsignedUpdate() throws -> String {
        var update = Update(zone: try DomainName("parent."))
        update.deleteRRset(try DomainName("child.parent."), .ns)
        update.add(try Record("child.parent. 3600 IN NS ns1.child.parent."))
        update.add(try Record("ns1.child.parent. 3600 IN A 192.0.2.1"))
        let path = "\(directory)/unsigned.bin"
        try Data(try update.message(id: 77).wireFormat()).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testKeygenSignVerifyEveryAlgorithm() throws {
        let unsigned = try unsignedUpdate()
        for algorithm in ["ED25519", "ECDSAP256SHA256", "ECDSAP384SHA384", "RSASHA256"] {
            let made = try delegsync("keygen", "child.parent.", "--algorithm", algorithm, "--directory", directory)
            XCTAssertEqual(made.status, 0, made.stderr)
            let lines = made.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, 2, made.stdout)
            XCTAssertTrue(lines[1].hasPrefix("child.parent. IN KEY 512 3 "), lines[1])
            let base = "\(directory)/\(lines[0])"
            let signed = "\(directory)/signed-\(algorithm).bin"
            let sign = try delegsync("message", "sign", unsigned, "--key", base + ".private", "--output", signed)
            XCTAssertEqual(sign.status, 0, sign.stderr)
            let verify = try delegsync("message", "verify", signed, "--key", base + ".key")
            XCTAssertEqual(verify.status, 0, verify.stderr)
            XCTAssertTrue(verify.stdout.hasPrefix("verified: signer child.parent. key tag "), verify.stdout)
        }
    }

    func testVerifyFailuresSayWhy() throws {
        let unsigned = try unsignedUpdate()
        let base = directory + "/" + (try delegsync("keygen", "child.parent.", "--directory", directory)).stdout.split(separator: "\n")[0]
        let other = directory + "/" + (try delegsync("keygen", "child.parent.", "--directory", directory)).stdout.split(separator: "\n")[0]
        let signed = "\(directory)/signed.bin"
        XCTAssertEqual(try delegsync("message", "sign", unsigned, "--key", base + ".private", "--output", signed, "--at", "1800000000").status, 0)
        XCTAssertEqual(try delegsync("message", "verify", signed, "--key", base + ".key", "--at", "1800000100").status, 0)

        var bytes = try Data(contentsOf: URL(fileURLWithPath: signed))
        bytes[20] ^= 0x01
        let tampered = "\(directory)/tampered.bin"
        try bytes.write(to: URL(fileURLWithPath: tampered))
        let flipped = try delegsync("message", "verify", tampered, "--key", base + ".key", "--at", "1800000100")
        XCTAssertEqual(flipped.status, 1)
        XCTAssertTrue(flipped.stderr.hasPrefix("not verified: badSignature"), flipped.stderr)

        let wrongKey = try delegsync("message", "verify", signed, "--key", other + ".key", "--at", "1800000100")
        XCTAssertEqual(wrongKey.status, 1)
        XCTAssertTrue(wrongKey.stderr.hasPrefix("not verified: keyTagMismatch"), wrongKey.stderr)

        let late = try delegsync("message", "verify", signed, "--key", base + ".key", "--at", "1800001000")
        XCTAssertEqual(late.status, 1)
        XCTAssertTrue(late.stderr.hasPrefix("not verified: expired"), late.stderr)
    }

    func testDecodeCapture() throws {
        let result = try delegsync("message", "decode", "\(Self.vectors)/nsupdate-alg15.bin")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("opcode: UPDATE"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\tSIG\t"), result.stdout)
        XCTAssertTrue(result.stdout.contains("ns1.child.parent.\t3600\tIN\tA\t192.0.2.1"), result.stdout)
    }

    func testDecodeHexFromStdin() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(Self.vectors)/vector3-keystate-inquiry.bin"))
        let hex = [UInt8](bytes).hexString
        let result = try delegsync("message", "decode", "-", "--hex", input: Data(hex.utf8))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("; KEYSTATE: key 34514 inquiry (2)"), result.stdout)
    }

    func testBadInputIsOneLine() throws {
        let garbage = "\(directory)/garbage.bin"
        try Data([0x12, 0x34, 0, 0, 0, 9]).write(to: URL(fileURLWithPath: garbage))
        for result in [
            try delegsync("message", "decode", garbage),
            try delegsync("message", "verify", garbage, "--key", "\(directory)/missing.key"),
            try delegsync("message", "decode", "--hex", garbage),
            try delegsync("keygen", "child..parent.", "--directory", directory),
            try delegsync("keygen", "child.parent.", "--algorithm", "DSA", "--directory", directory),
        ] {
            XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("error: "), result.stderr)
        }
        XCTAssertTrue(try delegsync("message", "verify", garbage, "--key", "\(directory)/missing.key").stderr.contains("missing.key"))
    }

    func testVersion() throws {
        let result = try delegsync("version")
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.hasPrefix("delegsync "), result.stdout)
    }
}
