import DNSWire
import Foundation
import SIG0
import TestSupport
import XCTest

/// Cross-checks with `Tests/Tools/rfc2931.py`, an independent RFC 2931 implementation on
/// Python's `cryptography`: what delegsync signs verifies there, and what it signs verifies here.
/// python3 with `cryptography` is required (the README's test command and .ci/run install it).
final class IndependentVerifierTests: XCTestCase {
    static let script = Vectors.directory.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/rfc2931.py").path

    func python() throws -> String {
        guard let python = Tool.find("python3") else {
            XCTFail("python3 is needed for the independent verifier")
            throw SIG0KeyError("no python3")
        }
        let probe = try Tool.run(python, ["-c", "import cryptography"])
        guard probe.status == 0 else {
            XCTFail("python3 lacks the cryptography package: \(probe.stderr)")
            throw SIG0KeyError("no cryptography")
        }
        return python
    }

    func testDelegsyncSignaturesVerifyInPython() throws {
        let python = try python()
        let directory = try Tool.temporaryDirectory("delegsync-interop")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var update = Update(zone: try DomainName("parent."))
        update.deleteRRset(try DomainName("child.parent."), .ns)
        update.add(try Record("child.parent. 3600 IN NS ns1.child.parent."))
        update.add(try Record("ns1.child.parent. 3600 IN AAAA 2001:db8::53"))
        let message = try update.message(id: 4711).wireFormat()
        let now: UInt32 = 1_800_000_000
        for algorithm in SIG0Algorithm.supported {
            let key = try BINDKeyFile.generate(owner: DomainName("child.parent."), algorithm: algorithm)
            let base = try key.write(to: directory, created: Date())
            let signed = try SIG0Signer(keyFile: key).sign(message, now: now)
            let file = "\(directory)/signed-\(algorithm.rawValue).bin"
            try Data(signed).write(to: URL(fileURLWithPath: file))
            let good = try Tool.run(python, [Self.script, "verify", file, base + ".key", "--at", String(now)])
            XCTAssertEqual(good.status, 0, "\(algorithm): \(good.stdout)\(good.stderr)")
            XCTAssertTrue(good.stdout.hasPrefix("verified"), good.stdout)
            var tampered = signed
            tampered[tampered.count / 2] ^= 0x01
            try Data(tampered).write(to: URL(fileURLWithPath: file))
            let bad = try Tool.run(python, [Self.script, "verify", file, base + ".key", "--at", String(now)])
            XCTAssertEqual(bad.status, 1, "\(algorithm): tampered message verified in Python")
        }
    }

    func testPythonSignaturesVerifyInDelegsync() throws {
        let python = try python()
        let directory = try Tool.temporaryDirectory("delegsync-interop")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var update = Update(zone: try DomainName("parent."))
        update.add(try Record("child.parent. 3600 IN DS 12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE8C4A3D2D4F9B1F2C7C2C3F1A"))
        let message = try update.message(id: 815).wireFormat()
        let unsignedFile = "\(directory)/unsigned.bin"
        try Data(message).write(to: URL(fileURLWithPath: unsignedFile))
        let now: UInt32 = 1_800_000_000
        for algorithm in SIG0Algorithm.supported {
            let key = try BINDKeyFile.generate(owner: DomainName("child.parent."), algorithm: algorithm)
            let base = try key.write(to: directory, created: Date())
            let out = "\(directory)/py-\(algorithm.rawValue).bin"
            let result = try Tool.run(
                python,
                [Self.script, "sign", unsignedFile, base + ".private", "--inception", String(now - 300), "--expiration", String(now + 300), "--output", out])
            XCTAssertEqual(result.status, 0, result.stderr)
            let signed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
            let verified = try SIG0Verifier().verify(message: signed, key: SIG0PublicKey(key.keyData), expectedSigner: DomainName("child.parent."), now: now)
            XCTAssertEqual(verified.algorithm, algorithm)
            if algorithm == .ed25519 || algorithm == .rsaSHA256 {
                // Deterministic algorithms: both implementations make the same bytes.
                XCTAssertEqual(try SIG0Signer(keyFile: key).sign(message, now: now), signed)
            }
        }
    }
}
