import DNSWire
import Foundation
import XCTest

final class MessageCommandTests: CommandLineTestCase {
    /// A fixed signing time, so that windows are exact.
    let signedAt: UInt32 = 1_800_000_000

    /// An unsigned UPDATE of child.parent.'s NS set with glue, written as a binary file.
    func unsignedUpdate() throws -> String {
        var update = Update(zone: try DomainName("parent."))
        update.deleteRRset(try DomainName("child.parent."), .ns)
        update.add(try Record("child.parent. 3600 IN NS ns1.child.parent."))
        update.add(try Record("ns1.child.parent. 3600 IN A 192.0.2.1"))
        let path = "\(directory)/unsigned.bin"
        try Data(try update.message(id: 77).wireFormat()).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Signs `unsigned` with `base`.private at `signedAt` and returns the signed file's path.
    func sign(_ unsigned: String, with base: String, fudge: UInt32 = 300) throws -> String {
        let signed = "\(directory)/signed-\(UUID().uuidString).bin"
        let result = try delegsync("message", "sign", unsigned, "--key", base + ".private", "--output", signed, "--at", "\(signedAt)", "--fudge", "\(fudge)")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "")
        return signed
    }

    func verify(_ signed: String, with keyFile: String, at time: UInt32) throws -> (status: Int32, stdout: String, stderr: String) {
        let result = try delegsync("message", "verify", signed, "--key", keyFile, "--at", "\(time)")
        return (result.status, result.stdout, result.stderr)
    }

    // MARK: sign and verify

    func testSignAndVerifyWithEveryAlgorithm() throws {
        let unsigned = try unsignedUpdate()
        for (algorithm, number) in [("ED25519", 15), ("ECDSAP256SHA256", 13), ("ECDSAP384SHA384", 14), ("RSASHA256", 8)] {
            let base = try keygen(algorithm: algorithm)
            let signed = "\(directory)/signed-\(algorithm).bin"
            let sign = try delegsync("message", "sign", unsigned, "--key", base + ".private", "--output", signed)
            XCTAssertEqual(sign.status, 0, sign.stderr)
            // Now, as an operator runs it.
            let verify = try delegsync("message", "verify", signed, "--key", base + ".key")
            XCTAssertEqual(verify.status, 0, "\(algorithm): \(verify.stderr)")
            XCTAssertEqual(verify.stderr, "")
            let tag = Int(base.split(separator: "+").last!)!
            XCTAssertEqual(verify.stdout, "verified: signer child.parent. key tag \(tag) algorithm \(algorithm)\n", "alg \(number)")
        }
    }

    func testVerifyFailuresExitOneAndSayWhy() throws {
        let unsigned = try unsignedUpdate()
        let base = try keygen()
        let signed = try sign(unsigned, with: base)
        XCTAssertEqual(try verify(signed, with: base + ".key", at: signedAt + 100).status, 0)

        // One bit of a letter of the zone name (question at offset 12: 6 "parent" 0 …).
        var bytes = try Data(contentsOf: URL(fileURLWithPath: signed))
        bytes[14] ^= 0x01
        let tampered = "\(directory)/tampered.bin"
        try bytes.write(to: URL(fileURLWithPath: tampered))
        assertNotVerified(try verify(tampered, with: base + ".key", at: signedAt), reason: "badSignature")

        // Another key of the same owner; in its own directory, in case the key tags collide
        // (then the signature check is what fails).
        let otherDirectory = "\(directory)/other"
        try FileManager.default.createDirectory(atPath: otherDirectory, withIntermediateDirectories: false)
        let other = try keygen(in: otherDirectory)
        let wrongKey = try verify(signed, with: other + ".key", at: signedAt)
        assertNotVerified(wrongKey, reason: other.hasSuffix(base.suffix(5)) ? "badSignature" : "keyTagMismatch")

        // A key of another name: the signer must be the key's owner.
        assertNotVerified(try verify(signed, with: try keygen("updater.parent.") + ".key", at: signedAt), reason: "signerMismatch")

        // Outside the window: fudge 300 s each side, plus the verifier's 300 s of skew.
        assertNotVerified(try verify(signed, with: base + ".key", at: signedAt + 1000), reason: "expired")
        assertNotVerified(try verify(signed, with: base + ".key", at: signedAt - 1000), reason: "notYetValid")

        assertNotVerified(try verify(unsigned, with: base + ".key", at: signedAt), reason: "noSignature")
    }

    func testFudgeSetsTheWindow() throws {
        let base = try keygen()
        let signed = try sign(try unsignedUpdate(), with: base, fudge: 60)
        // Valid from signedAt - 60 to signedAt + 60; the verifier allows 300 s of skew.
        XCTAssertEqual(try verify(signed, with: base + ".key", at: signedAt + 360).status, 0)
        XCTAssertEqual(try verify(signed, with: base + ".key", at: signedAt - 360).status, 0)
        assertNotVerified(try verify(signed, with: base + ".key", at: signedAt + 361), reason: "expired")
        assertNotVerified(try verify(signed, with: base + ".key", at: signedAt - 361), reason: "notYetValid")
    }

    /// BIND's nsupdate signed this one (Vectors/README.md); --at is inception + 300 s, when
    /// nsupdate sent it.
    func testVerifiesABINDCapture() throws {
        let result = try verify("\(Self.vectors)/nsupdate-alg15.bin", with: "\(Self.vectors)/Kchild.parent.+015+55191.key", at: 1_795_920_727)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "verified: signer child.parent. key tag 55191 algorithm ED25519\n")
    }

    func assertNotVerified(
        _ result: (status: Int32, stdout: String, stderr: String), reason: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr, file: file, line: line)
        XCTAssertEqual(result.stdout, "", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("not verified: \(reason): "), result.stderr, file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, file: file, line: line)
    }

    // MARK: decode

    func testDecodeBINDCapture() throws {
        let result = try delegsync("message", "decode", "\(Self.vectors)/nsupdate-alg15.bin")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix(";; ->>HEADER<<- opcode: UPDATE, status: NOERROR, id: "), lines[0])
        XCTAssertTrue(lines.contains("child.parent.\t3600\tIN\tNS\tns1.child.parent."), result.stdout)
        XCTAssertTrue(lines.contains("ns1.child.parent.\t3600\tIN\tA\t192.0.2.1"), result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix(".\t0\tANY\tSIG\tTYPE0 15 0 0 ") && $0.contains(" 55191 child.parent. ") }, result.stdout)
    }

    func testDecodeHexFromStdinIgnoresWhiteSpace() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(Self.vectors)/vector3-keystate-inquiry.bin"))
        // As a hex dump might show it: lines of 16 octets, a space between octets.
        let hex = stride(from: 0, to: bytes.count, by: 16).map { start in
            bytes[start..<min(start + 16, bytes.count)].map { [UInt8]([$0]).hexString }.joined(separator: " ")
        }.joined(separator: "\n")
        let result = try delegsync("message", "decode", "-", "--hex", input: Data(hex.utf8))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("; KEYSTATE: key 34514 inquiry (2)"), result.stdout)
        XCTAssertEqual(result.stdout, try delegsync("message", "decode", "\(Self.vectors)/vector3-keystate-inquiry.bin").stdout)
    }

    // MARK: hex in and out

    func testSignWritesHexThatVerifyReads() throws {
        let base = try keygen()
        let unsigned = try unsignedUpdate()
        let signed = try delegsync("message", "sign", unsigned, "--key", base + ".private", "--at", "\(signedAt)", "--hex")
        XCTAssertEqual(signed.status, 0, signed.stderr)
        XCTAssertNotNil([UInt8](hex: signed.stdout), signed.stdout)
        let verified = try delegsync("message", "verify", "-", "--hex", "--key", base + ".key", "--at", "\(signedAt)", input: Data(signed.stdout.utf8))
        XCTAssertEqual(verified.status, 0, verified.stderr)

        // Hex in (--hex-input), binary out.
        let unsignedHex = "\(directory)/unsigned.hex"
        try ([UInt8](try Data(contentsOf: URL(fileURLWithPath: unsigned))).hexString + "\n").write(toFile: unsignedHex, atomically: true, encoding: .utf8)
        let binary = "\(directory)/signed.bin"
        XCTAssertEqual(try delegsync("message", "sign", unsignedHex, "--hex-input", "--key", base + ".private", "--output", binary).status, 0)
        XCTAssertEqual(try delegsync("message", "verify", binary, "--key", base + ".key").status, 0)
    }

    // MARK: failures the operator has to fix

    func testBadInputIsOneLineAndExitTwo() throws {
        let base = try keygen()
        let garbage = "\(directory)/garbage.bin"
        try Data([0x12, 0x34, 0, 0, 0, 9]).write(to: URL(fileURLWithPath: garbage))
        let unsigned = try unsignedUpdate()

        assertUsageError(try delegsync("message", "decode", garbage), mentioning: "garbage.bin is not a valid DNS message")
        assertUsageError(try delegsync("message", "decode", "\(directory)/absent.bin"), mentioning: "cannot read \(directory)/absent.bin")
        assertUsageError(try delegsync("message", "decode", directory), mentioning: "cannot read")
        assertUsageError(try delegsync("message", "decode", "--hex", garbage), mentioning: "not hexadecimal")
        assertUsageError(try delegsync("message", "decode", "-", "--hex", input: Data("12 3".utf8)), mentioning: "stdin")
        assertUsageError(try delegsync("message", "verify", unsigned, "--key", "\(directory)/missing.key"), mentioning: "cannot read \(directory)/missing.key")
        assertUsageError(try delegsync("message", "sign", unsigned, "--key", "\(directory)/missing.private"), mentioning: "missing.")
        assertUsageError(try delegsync("message", "sign", try sign(unsigned, with: base), "--key", base + ".private"), mentioning: "signed already")
        assertUsageError(
            try delegsync("message", "sign", unsigned, "--key", base + ".private", "--output", "\(directory)/no/such/dir.bin"), mentioning: "cannot write")

        // A .key without its .private cannot sign.
        let publicOnly = "\(directory)/public"
        try FileManager.default.createDirectory(atPath: publicOnly, withIntermediateDirectories: false)
        let keyName = URL(fileURLWithPath: base).lastPathComponent + ".key"
        try FileManager.default.copyItem(atPath: base + ".key", toPath: "\(publicOnly)/\(keyName)")
        assertUsageError(try delegsync("message", "sign", unsigned, "--key", "\(publicOnly)/\(keyName)"), mentioning: ".private")

        // ArgumentParser's own errors keep to the same contract.
        assertUsageError(try delegsync("message", "verify", "--key", base + ".key"), mentioning: "<file>")
        assertUsageError(try delegsync("message", "verify", unsigned, "--key", base + ".key", "--at", "yesterday"), mentioning: "yesterday")
        assertUsageError(try delegsync("message", "frobnicate"))
    }
}
