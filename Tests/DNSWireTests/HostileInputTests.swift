import DNSWire
import TestSupport
import XCTest

/// The decoder on hostile input: every malformed message is an error, never a crash or a hang.
final class HostileInputTests: XCTestCase {
    func header(qd: UInt16 = 0, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) -> [UInt8] {
        var out: [UInt8] = [0x12, 0x34, 0x28, 0x00]
        for count in [qd, an, ns, ar] { out += [UInt8(count >> 8), UInt8(count & 0xFF)] }
        return out
    }

    func assertError(_ bytes: [UInt8], _ code: DNSWireError.Code? = nil, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try Message(wire: bytes)
            XCTFail("decoded a malformed message", file: file, line: line)
        } catch let error as DNSWireError {
            if let code { XCTAssertEqual(error.code, code, error.detail, file: file, line: line) }
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    func testCraftedMessages() {
        assertError([], .truncated)
        assertError(Array(header().prefix(11)), .truncated)
        // Compression pointer to itself, and two pointers pointing at each other.
        assertError(header(qd: 1) + [0xC0, 12, 0, 6, 0, 1], .badPointer)
        assertError(header(qd: 2) + [0xC0, 18, 0, 6, 0, 1] + [0xC0, 12, 0, 6, 0, 1], .badPointer)
        // Counts larger than the data.
        assertError(header(qd: 65535), .truncated)
        assertError(header(an: 1) + [0, 0, 1, 0, 1], .truncated)
        assertError(header(ar: 3) + [0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0], .truncated)
        // RDLENGTH past the end.
        assertError(header(an: 1) + [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 200, 1, 2, 3, 4], .truncated)
        // A length octet of 64 is not a label (RFC 1035 §4.1.4: 0x40 is another label type).
        assertError(header(qd: 1) + [64] + Array(repeating: 0x61, count: 64) + [0, 0, 1, 0, 1], .badLabelType)
        // A name over 255 octets: five labels of 63.
        var long: [UInt8] = []
        for _ in 0..<5 { long += [63] + Array(repeating: 0x61, count: 63) }
        assertError(header(qd: 1) + long + [0, 0, 1, 0, 1], .nameTooLong)
        // Trailing octets after the counted records.
        assertError(header() + [0], .trailingData)
        // A record ldns rejects: an A record with 3 octets of RDATA.
        assertError(header(an: 1) + [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3])
    }

    func testRandomAndMutatedInputs() throws {
        // A fixed seed makes every run feed the same inputs.
        var rng = SplitMix64(state: 0x6465_6C65_6773_796E)
        let seeds =
            try [
                MessageTests.nsupdateCapture, MessageTests.keyStateInquiry,
                Update(zone: DomainName("parent.")).message(id: 1).wireFormat(),
            ]
            + {
                var u = Update(zone: try DomainName("parent."))
                u.deleteRRset(try DomainName("child.parent."), .ds)
                u.add(try Record("child.parent. 3600 IN DS 1 13 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1a"))
                u.add(try Record("_dsync.parent. 3600 IN DSYNC ANY UPDATE 5302 updater.parent."))
                u.add(try Record("child.parent. 3600 IN KEY 512 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="))
                return [try u.message(id: 2).wireFormat()]
            }()
        var inputs = 0
        var decoded = 0
        func feed(_ bytes: [UInt8]) {
            inputs += 1
            if let message = try? Message(wire: bytes) {
                decoded += 1
                // Whatever decodes must also encode (or fail cleanly) and print.
                _ = try? message.wireFormat()
                _ = message.description
            }
        }
        // 1. Random bytes, 0–600 octets, with plausible headers half the time.
        for _ in 0..<100_000 {
            var bytes = (0..<Int.random(in: 0...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if bytes.count >= 12, Bool.random(using: &rng) {
                for i in 4..<12 { bytes[i] = i % 2 == 0 ? 0 : UInt8.random(in: 0...4, using: &rng) }
            }
            feed(bytes)
        }
        // 2. Valid messages with 1–8 octets changed, inserted or removed.
        for _ in 0..<200_000 {
            var bytes = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                switch UInt8.random(in: 0...9, using: &rng) {
                case 0: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
                case 1 where bytes.count > 12: bytes.remove(at: index)
                case 2: bytes[index] = 0xC0
                default: bytes[index] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                }
            }
            feed(bytes)
        }
        // 3. Every truncation of every seed.
        for seed in seeds {
            for length in 0..<seed.count { feed(Array(seed.prefix(length))) }
        }
        // 4. 64 KiB of random bytes.
        for _ in 0..<20 {
            feed((0..<65535).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        print("hostile input: \(inputs) inputs fed to the decoder, \(decoded) decoded as messages, the rest refused with an error")
        XCTAssertGreaterThan(inputs, 300_000)
        XCTAssertGreaterThan(decoded, 0)
    }
}

/// Issue 11: an EDE or KeyState text longer than an option can carry used to trap in
/// `UInt16(count)`; now the text is cut at a character boundary and the option encodes.
final class LongOptionTextTests: XCTestCase {
    func testLongExtraTextIsBoundedNotATrap() throws {
        let long = String(repeating: "é", count: 40_000)  // 80,000 octets
        let ede = ExtendedDNSError(infoCode: 18, extraText: long).option
        XCTAssertLessThanOrEqual(ede.data.count, 2 + EDNSOption.maximumExtraText)
        let keyState = KeyStateOption(keyID: 1, state: .trusted, extraText: long).option()
        XCTAssertLessThanOrEqual(keyState.data.count, 4 + EDNSOption.maximumExtraText)
        let message = Message(question: [Question(name: try DomainName("child.parent."), type: .key)], edns: EDNS(options: [ede, keyState]))
        let parsed = try Message(wire: try message.wireFormat())
        let text = try XCTUnwrap(parsed.edns?.extendedError?.extraText)
        XCTAssertTrue(text.hasSuffix("…"))
        XCTAssertTrue(text.dropLast().allSatisfy { $0 == "é" }, "cut inside a character")
        // A raw option over 65535 octets is cut, not a crash.
        let raw = EDNS(options: [EDNSOption(code: 65001, data: [UInt8](repeating: 1, count: 70_000))])
        XCTAssertEqual(raw.optionsWire.count, 4 + 65535)
    }
}
