import DNSWire
import Foundation
import SIG0
import XCTest

/// Issue 11, point 1: the cost of one verification is bounded when the key is parsed, before any
/// use. RSA keys need a modulus of 2048–4096 bits (RFC 8624 §3.1) and an odd public exponent from
/// 3 to 2^32 − 1; the exponent length prefix of RFC 3110 §2 is one octet, or 0 then two octets.
/// On the old code a 3071-bit exponent (one verification about 150 times dearer) and a 1024-bit
/// modulus were accepted.
final class RSAKeyBoundsTests: XCTestCase {
    /// The BIND-made RSA key of the vectors (2048 bits, exponent 65537) and its private half.
    var keyFile: BINDKeyFile!
    var modulus: [UInt8] = []

    override func setUpWithError() throws {
        keyFile = try Vectors.key("Kchild.parent.+008+15044.private")
        let key = keyFile.keyData.publicKey
        XCTAssertEqual(Array(key.prefix(4)), [3, 1, 0, 1], "one-octet length, exponent 65537")
        modulus = Array(key.dropFirst(4))
        XCTAssertEqual(modulus.count, 256)
    }

    /// RFC 3110 §2 public key field: the exponent length in one octet when it fits, else 0 and
    /// two octets (`longForm` forces the three-octet form).
    static func rsaKey(exponent: [UInt8], modulus: [UInt8], longForm: Bool = false) -> [UInt8] {
        let length = exponent.count
        let prefix: [UInt8] = length < 256 && !longForm ? [UInt8(length)] : [0, UInt8(length >> 8), UInt8(length & 0xFF)]
        return prefix + exponent + modulus
    }

    static func parse(_ publicKey: [UInt8], flags: UInt16 = 512) throws -> SIG0PublicKey {
        try SIG0PublicKey(KEYData(flags: flags, algorithm: 8, publicKey: publicKey))
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        var bytes = withUnsafeBytes(of: value.bigEndian, Array.init)
        while bytes.first == 0 { bytes.removeFirst() }
        return bytes
    }

    func assertRefused(_ publicKey: [UInt8], mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Self.parse(publicKey), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(error is SIG0KeyError, text, file: file, line: line)
            for word in words { XCTAssertTrue(text.contains(word), "\"\(word)\" missing in: \(text)", file: file, line: line) }
        }
    }

    /// The attack: a 2048-bit modulus with a 3071-bit exponent, written with the three-octet
    /// length (384 octets). Refused when parsed, so no verification ever runs with it.
    func testExponentOf3071BitsIsRefused() throws {
        var exponent = [UInt8](repeating: 0xA5, count: 384)
        exponent[0] = 0x40  // 3071 significant bits
        exponent[383] |= 1
        assertRefused(Self.rsaKey(exponent: exponent, modulus: modulus), mentioning: ["exponent", "3071 bits"])
    }

    /// The key as BIND wrote it, and the same key with the three-octet length form and with
    /// leading zero octets in the exponent: all parse and verify a signature of the private key.
    func testExponentLengthForms() throws {
        let data = Array("exponent length forms".utf8)
        let signature = try XCTUnwrap(keyFile.privateKey).sign(data)
        let forms: [(String, [UInt8])] = [
            ("as published", keyFile.keyData.publicKey),
            ("0 then two octets", Self.rsaKey(exponent: [1, 0, 1], modulus: modulus, longForm: true)),
            ("leading zero octets", Self.rsaKey(exponent: [0, 0, 1, 0, 1], modulus: modulus)),
            ("long form, leading zeros", Self.rsaKey(exponent: [UInt8](repeating: 0, count: 300) + [1, 0, 1], modulus: modulus)),
        ]
        for (name, form) in forms {
            let key = try Self.parse(form)
            XCTAssertTrue(key.verify(signature, over: data), name)
            XCTAssertFalse(key.verify(signature, over: data + [0]), name)
        }
    }

    func testExponentBounds() throws {
        for accepted: UInt64 in [3, 17, 65537, 0xFFFF_FFFF] {
            XCTAssertNoThrow(try Self.parse(Self.rsaKey(exponent: Self.bigEndian(accepted), modulus: modulus)), "e = \(accepted)")
        }
        // 1 makes every value its own signature; even exponents are not RSA; above 2^32 − 1 costs.
        for refused: UInt64 in [1, 2, 65536, 0x1_0000_0000, 0x1_0000_0001, 0xFFFF_FFFF_FFFF_FFFF] {
            assertRefused(Self.rsaKey(exponent: Self.bigEndian(refused), modulus: modulus), mentioning: ["exponent"])
        }
        assertRefused(Self.rsaKey(exponent: [0, 0], modulus: modulus), mentioning: ["exponent"])
    }

    func testModulusBounds() throws {
        /// An odd number of exactly `bits` bits (OpenSSL does not test the modulus for primes).
        func modulus(bits: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0x5A, count: (bits + 7) / 8)
            bytes[0] = UInt8(1 << ((bits - 1) % 8))
            bytes[bytes.count - 1] |= 1
            return bytes
        }
        for bits in [2048, 3072, 4096] {
            let key = try Self.parse(Self.rsaKey(exponent: [1, 0, 1], modulus: modulus(bits: bits)))
            XCTAssertEqual(key.algorithm, .rsaSHA256, "\(bits)")
        }
        for bits in [512, 1024, 2047, 4097, 8192] {
            assertRefused(Self.rsaKey(exponent: [1, 0, 1], modulus: modulus(bits: bits)), mentioning: ["modulus of \(bits) bits"])
        }
        // Leading zero octets do not count: 0x00 followed by 2048 bits is a 2048-bit modulus.
        XCTAssertNoThrow(try Self.parse(Self.rsaKey(exponent: [1, 0, 1], modulus: [0] + self.modulus)))
        assertRefused(Self.rsaKey(exponent: [1, 0, 1], modulus: [0, 0] + Array(self.modulus.dropFirst(129))), mentioning: ["modulus"])
    }

    /// Truncated or empty fields give a key error that says what is wrong, never a crash.
    func testMalformedLayouts() {
        assertRefused([], mentioning: ["empty"])
        assertRefused([0], mentioning: ["RFC 3110"])
        assertRefused([0, 1], mentioning: ["RFC 3110"])
        assertRefused([0, 0, 0] + modulus, mentioning: ["exponent of 0 octets"])
        assertRefused([3, 1, 0, 1], mentioning: ["no modulus"])
        assertRefused([0, 0, 3, 1, 0, 1], mentioning: ["no modulus"])
        assertRefused([0, 1, 0, 1, 0, 1], mentioning: ["no modulus"])
        assertRefused([200, 1, 0, 1], mentioning: ["no modulus"])
    }

    /// Keys delegsync generates pass the bounds.
    func testGeneratedKeysPass() throws {
        for bits in [2048, 4096] {
            XCTAssertNoThrow(try Self.parse(SIG0PrivateKey.generate(.rsaSHA256, rsaBits: bits).publicKey), "\(bits)")
        }
    }
}
