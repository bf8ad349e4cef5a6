import DNSWire
import Foundation
import SIG0
import XCTest

final class SIG0VerifierTests: XCTestCase {
    let verifier = SIG0Verifier()

    /// Every BIND nsupdate capture (algorithms 8, 13, 14, 15; UDP and TCP; mixed case) verifies
    /// over the bytes as captured.
    func testNsupdateCapturesVerify() throws {
        let captures = try Vectors.captures()
        XCTAssertEqual(Set(captures.map(\.algorithm)), [8, 13, 14, 15])
        for capture in captures {
            let key = try Vectors.key(capture.keyFile)
            XCTAssertEqual(key.keyTag, capture.keyTag, capture.file)
            let message = try Vectors.bytes(capture.file)
            let verified = try verifier.verify(message: message, key: SIG0PublicKey(key.keyData), expectedSigner: key.owner, now: capture.inception + 300)
            XCTAssertEqual(verified.signer.description, capture.signer, capture.file)
            XCTAssertEqual(verified.keyTag, capture.keyTag)
            XCTAssertEqual(verified.algorithm.rawValue, capture.algorithm)
        }
    }

    /// nsupdate signs the signer as written (`MiXed.Parent.`); the check that the signer is the
    /// expected child ignores case, the signature does not.
    func testMixedCaseSignerComparesCaseInsensitively() throws {
        let key = try Vectors.key("Kmixed.parent.+013+48625.key")
        let message = try Vectors.bytes("nsupdate-mixedcase-alg13.bin")
        let verified = try verifier.verify(
            message: message, key: SIG0PublicKey(key.keyData), expectedSigner: try DomainName("mixed.parent."), now: 1_795_920_727)
        XCTAssertEqual(verified.signer.wire, try DomainName("MiXed.Parent.").wire)
    }

    func testSpecVectorsVerify() throws {
        let child = try SIG0PublicKey(Vectors.key("Kchild.parent.+015+34514.key").keyData)
        for name in ["vector1-update.bin", "vector2-bootstrap.bin", "vector3-keystate-inquiry.bin"] {
            try verifier.verify(message: Vectors.bytes(name), key: child, expectedSigner: DomainName("child.parent."), now: Vectors.vectorInception + 10)
        }
        let bind = try SIG0PublicKey(Vectors.key("Kchild.parent.+015+30438.key").keyData)
        try verifier.verify(message: Vectors.bytes("bind-17.0-ed25519.bin"), key: bind, now: 1_795_916_000)
        // A signed response covers the request that produced it (RFC 2535 §4.1.8.1).
        let updater = try SIG0PublicKey(Vectors.key("Kupdater.parent.+015+11785.key").keyData)
        let request = try Vectors.bytes("vector1-update.bin")
        try verifier.verify(
            message: Vectors.bytes("vector4-response.bin"), key: updater, expectedSigner: DomainName("updater.parent."), now: Vectors.vectorInception,
            request: request)
        var otherRequest = request
        otherRequest[1] ^= 1
        XCTAssertThrowsError(
            try verifier.verify(message: Vectors.bytes("vector4-response.bin"), key: updater, now: Vectors.vectorInception, request: otherRequest))
    }

    /// RFC 4034 Appendix B over the KEY RDATA as published: flags change the tag (spec-digest §17.5).
    func testKeyTagsDependOnFlags() throws {
        let keys: [(String, [UInt16])] = [
            ("A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=", [34002, 34258, 34514]),
            ("ocKeyHhivrJOnjDi55LDAlABBJlKtTxR9aG9J1T+7Lc=", [29926, 30182, 30438]),
        ]
        for (base64, tags) in keys {
            for (flags, tag) in zip([UInt16(0), 256, 512], tags) {
                let data = KEYData(flags: flags, algorithm: 15, publicKey: Array(Data(base64Encoded: base64)!))
                XCTAssertEqual(data.keyTag, tag)
            }
        }
    }

    /// Flipping any bit of a signed message makes verification fail — header, body, SIG fields
    /// and signature alike.
    func testEveryBitFlipFails() throws {
        let cases = [
            ("vector1-update.bin", "Kchild.parent.+015+34514.key", Vectors.vectorInception + 1),
            ("nsupdate-alg13.bin", "Kchild.parent.+013+24099.key", 1_795_920_727),
        ]
        for (file, keyFile, now) in cases {
            let message = try Vectors.bytes(file)
            let key = try SIG0PublicKey(Vectors.key(keyFile).keyData)
            XCTAssertNoThrow(try verifier.verify(message: message, key: key, now: now))
            var flipped = 0
            for index in message.indices {
                for bit in 0..<8 {
                    var copy = message
                    copy[index] ^= UInt8(1 << bit)
                    XCTAssertThrowsError(
                        try verifier.verify(message: copy, key: key, expectedSigner: DomainName("child.parent."), now: now), "\(file) byte \(index) bit \(bit)")
                    flipped += 1
                }
            }
            XCTAssertEqual(flipped, message.count * 8)
        }
    }
}
