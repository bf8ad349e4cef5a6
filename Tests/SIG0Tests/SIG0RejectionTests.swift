import DNSWire
import Foundation
import SIG0
import XCTest

/// One message per rejection reason, each triggering exactly that reason.
final class SIG0RejectionTests: XCTestCase {
    let now = Vectors.vectorInception + 60
    var key: SIG0PublicKey!
    var unsigned: [UInt8] = []
    var signed: [UInt8] = []
    var signer: SIG0Signer!

    override func setUpWithError() throws {
        let keyFile = try Vectors.key("Kchild.parent.+015+34514.private")
        key = try SIG0PublicKey(keyFile.keyData)
        signer = try SIG0Signer(keyFile: keyFile)
        unsigned = try Vectors.bytes("vector1-unsigned.bin")
        signed = try Vectors.bytes("vector1-update.bin")
    }

    func assertRejected(
        _ message: [UInt8], _ reason: SIG0Rejection.Reason, verifier: SIG0Verifier = SIG0Verifier(), key: SIG0PublicKey? = nil,
        expectedSigner: DomainName? = nil, now: UInt32? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            try verifier.verify(message: message, key: key ?? self.key, expectedSigner: expectedSigner, now: now ?? self.now)
            XCTFail("verified, expected \(reason)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.reason, reason, error.detail, file: file, line: line)
            XCTAssertFalse(error.detail.isEmpty, file: file, line: line)
        }
    }

    /// Appends a record to the additional section of `message`.
    func appending(_ record: Record, to message: [UInt8]) -> [UInt8] {
        var out = message + record.wire
        let count = (Int(out[10]) << 8 | Int(out[11])) + 1
        out[10] = UInt8(count >> 8)
        out[11] = UInt8(count & 0xFF)
        return out
    }

    func sigRecord(_ sig: SIGData, owner: DomainName = .root, rrClass: RRClass = .any) -> Record {
        Record(name: owner, type: .sig, rrClass: rrClass, ttl: 0, rdata: sig.rdata)
    }

    var validSIG: SIGData { try! SIG0Signature(message: signed).sig }

    func testTheValidMessageVerifies() throws {
        try SIG0Verifier().verify(message: signed, key: key, expectedSigner: DomainName("CHILD.parent."), now: now)
    }

    func testMalformed() {
        assertRejected(Array(signed.dropLast(3)), .malformed)
        assertRejected(signed + [0], .malformed)
    }

    func testNoSignature() {
        assertRejected(unsigned, .noSignature)
    }

    func testMultipleSignatures() {
        assertRejected(appending(sigRecord(validSIG), to: signed), .multipleSignatures)
    }

    func testSignatureNotLast() throws {
        assertRejected(appending(try Record("glue.parent. 0 IN A 192.0.2.9"), to: signed), .signatureNotLast)
    }

    func testTSIGAndSIG0() throws {
        let tsig = Record(name: try DomainName("tsig-key."), type: .tsig, rrClass: .any, ttl: 0, rdata: [0])
        assertRejected(appending(tsig, to: signed), .tsigAndSIG0)
    }

    func testTypeCoveredNotZero() {
        var sig = validSIG
        sig.typeCovered = .ns
        assertRejected(appending(sigRecord(sig), to: unsigned), .typeCoveredNotZero)
    }

    func testBadSIG0Fields() throws {
        assertRejected(appending(sigRecord(validSIG, owner: try DomainName("child.parent.")), to: unsigned), .badSIG0Fields)
        assertRejected(appending(sigRecord(validSIG, rrClass: .in), to: unsigned), .badSIG0Fields)
        var sig = validSIG
        sig.labels = 2
        assertRejected(appending(sigRecord(sig), to: unsigned), .badSIG0Fields)
    }

    func testSignerMismatch() throws {
        // Label-wise: "ample.parent." is not "child.parent." and neither is a suffix match.
        assertRejected(signed, .signerMismatch, expectedSigner: try DomainName("other.parent."))
        assertRejected(signed, .signerMismatch, expectedSigner: try DomainName("hild.parent."))
    }

    func testWindowAbsurd() throws {
        assertRejected(try signer.sign(unsigned, inception: now + 10, expiration: now - 10), .windowAbsurd)
        assertRejected(try signer.sign(unsigned, inception: now - 3000, expiration: now + 3000), .windowAbsurd)
    }

    func testNotYetValid() {
        assertRejected(signed, .notYetValid, now: Vectors.vectorInception - 301)
    }

    func testExpired() {
        assertRejected(signed, .expired, now: Vectors.vectorExpiration + 301)
        // Within the skew it still verifies.
        XCTAssertNoThrow(try SIG0Verifier().verify(message: signed, key: key, now: Vectors.vectorExpiration + 299))
    }

    func testUnsupportedAlgorithm() throws {
        assertRejected(signed, .unsupportedAlgorithm, verifier: SIG0Verifier(algorithms: [.ecdsaP256SHA256]))
        var sig = validSIG
        sig.algorithm = 5
        assertRejected(appending(sigRecord(sig), to: unsigned), .unsupportedAlgorithm)
    }

    func testAlgorithmMismatch() throws {
        let p256 = try SIG0PublicKey(Vectors.key("Kchild.parent.+013+24099.key").keyData)
        assertRejected(signed, .algorithmMismatch, key: p256)
    }

    func testKeyTagMismatch() throws {
        let other = try SIG0PublicKey(Vectors.key("Kchild.parent.+015+30438.key").keyData)
        assertRejected(signed, .keyTagMismatch, key: other)
    }

    func testSignatureLength() {
        var sig = validSIG
        sig.signature.removeLast()
        assertRejected(appending(sigRecord(sig), to: unsigned), .signatureLength)
    }

    func testBadSignature() {
        var tampered = signed
        tampered[tampered.count - 1] ^= 0x80
        assertRejected(tampered, .badSignature)
        var body = signed
        body[14] ^= 0x20  // "parent" -> "pArent": a case change in the body is a change too
        assertRejected(body, .badSignature)
    }

    func testEveryReasonIsCovered() {
        // Keeps this file honest when a reason is added.
        XCTAssertEqual(SIG0Rejection.Reason.allCases.count, 16)
    }
}
