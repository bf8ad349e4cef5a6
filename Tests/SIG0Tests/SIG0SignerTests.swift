import DNSWire
import Foundation
import SIG0
import XCTest

final class SIG0SignerTests: XCTestCase {
    /// Ed25519 is deterministic: signing the unsigned Vector 1 reproduces it byte for byte.
    func testSigningReproducesVector1() throws {
        let signer = try SIG0Signer(keyFile: Vectors.key("Kchild.parent.+015+34514.private"))
        let signed = try signer.sign(Vectors.bytes("vector1-unsigned.bin"), inception: Vectors.vectorInception, expiration: Vectors.vectorExpiration)
        XCTAssertEqual(signed, try Vectors.bytes("vector1-update.bin"))
    }

    /// A response signature covers the request (RFC 2535 §4.1.8.1): reproduce Vector 4.
    func testSigningResponseReproducesVector4() throws {
        let expected = try Vectors.bytes("vector4-response.bin")
        let signature = try SIG0Signature(message: expected)
        var unsigned = Array(expected[0..<signature.recordStart])
        unsigned[11] -= 1
        let signer = try SIG0Signer(keyFile: Vectors.key("Kupdater.parent.+015+11785.private"))
        let signed = try signer.sign(
            unsigned, inception: Vectors.vectorInception, expiration: Vectors.vectorExpiration, request: Vectors.bytes("vector1-update.bin"))
        XCTAssertEqual(signed, expected)
    }

    /// Re-signing an nsupdate capture with the same Ed25519 and RSA keys gives nsupdate's bytes.
    func testSigningMatchesNsupdate() throws {
        for capture in try Vectors.captures() where capture.algorithm == 8 || capture.algorithm == 15 {
            let message = try Vectors.bytes(capture.file)
            let signature = try SIG0Signature(message: message)
            var unsigned = Array(message[0..<signature.recordStart])
            unsigned[11] -= 1
            let signer = try SIG0Signer(keyFile: BINDKeyFile.load(path: Vectors.path(capture.keyFile), requirePrivate: true))
            XCTAssertEqual(try signer.sign(unsigned, inception: capture.inception, expiration: capture.expiration), message, capture.file)
        }
    }

    /// Generated keys of every algorithm survive writing to and reading from BIND's key files,
    /// and sign messages that verify.
    func testGenerateWriteLoadSignVerify() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("delegsync-keys-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var update = Update(zone: try DomainName("parent."))
        update.add(try Record("child.parent. 3600 IN NS ns1.child.parent."))
        let message = try update.message(id: 99).wireFormat()
        for algorithm in SIG0Algorithm.supported {
            let generated = try BINDKeyFile.generate(owner: DomainName("child.parent."), algorithm: algorithm)
            let base = try generated.write(to: directory, created: Date(timeIntervalSince1970: 1_800_000_000))
            XCTAssertTrue(base.hasSuffix(generated.baseName))
            let attributes = try FileManager.default.attributesOfItem(atPath: base + ".private")
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
            let loaded = try BINDKeyFile.load(path: base + ".private", requirePrivate: true)
            XCTAssertEqual(loaded.record, generated.record)
            XCTAssertEqual(loaded.privateKey?.publicKey, generated.privateKey?.publicKey)
            let signed = try SIG0Signer(keyFile: loaded).sign(message, now: 1_800_000_000)
            let verified = try SIG0Verifier().verify(
                message: signed, key: SIG0PublicKey(loaded.keyData), expectedSigner: DomainName("child.parent."), now: 1_800_000_100)
            XCTAssertEqual(verified.algorithm, algorithm)
            // The signed message is still a DNS message ldns reads, SIG last.
            XCTAssertEqual(try Message(wire: signed).additional.last?.type, .sig)
        }
    }

    func testSigningTwiceIsRefused() throws {
        let signer = try SIG0Signer(keyFile: Vectors.key("Kchild.parent.+015+34514.private"))
        XCTAssertThrowsError(try signer.sign(Vectors.bytes("vector1-update.bin"), now: Vectors.vectorInception))
    }

    func testMismatchedPrivateFileIsRefused() throws {
        let (algorithm, fields) = try BINDKeyFile.parsePrivateFile(String(decoding: Vectors.bytes("Kchild.parent.+013+24099.private"), as: UTF8.self))
        let otherPublic = try Vectors.key("Kmixed.parent.+013+48625.key").keyData.publicKey
        XCTAssertThrowsError(try SIG0PrivateKey(algorithm: algorithm, bindFields: fields, publicKey: otherPublic))
    }
}
