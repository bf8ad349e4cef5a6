import DNSWire
import XCTest

final class DomainNameTests: XCTestCase {
    func name(_ text: String) throws -> DomainName { try DomainName(text) }

    func testCaseInsensitiveEqualityKeepsCase() throws {
        let mixed = try name("MiXed.Parent.")
        XCTAssertEqual(mixed, try name("mixed.parent."))
        XCTAssertEqual(mixed.hashValue, try name("MIXED.PARENT.").hashValue)
        XCTAssertEqual(mixed.description, "MiXed.Parent.")
        XCTAssertEqual(mixed.lowercased.description, "mixed.parent.")
    }

    func testSubdomainIsLabelWise() throws {
        XCTAssertFalse(try name("ample.example.").isSubdomain(of: name("example.example.")))
        XCTAssertFalse(try name("xchild.parent.").isSubdomain(of: name("child.parent.")))
        XCTAssertTrue(try name("ns1.Child.parent.").isSubdomain(of: name("child.PARENT.")))
        XCTAssertTrue(try name("child.parent.").isSubdomain(of: name("child.parent.")))
        XCTAssertTrue(try name("child.parent.").isSubdomain(of: .root))
        XCTAssertFalse(try name("parent.").isSubdomain(of: name("child.parent.")))
        // A dot inside a label is not a label boundary.
        XCTAssertFalse(try name("a\\.child.parent.").isSubdomain(of: name("child.parent.")))
        XCTAssertEqual(try name("x\\.parent.").labelCount, 1)
        XCTAssertEqual(try name("ns1.child.parent.").relativeLabels(to: name("parent."))?.map { String(decoding: $0, as: UTF8.self) }, ["ns1", "child"])
    }

    /// RFC 4034 §6.1's example, shuffled, sorts back into the RFC's order.
    func testCanonicalOrder() throws {
        let ordered = [
            "example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.",
            "\\200.z.example.",
        ]
        let names = try ordered.map(name)
        XCTAssertEqual(names.shuffled().sorted().map(\.description), names.map(\.description))
    }

    func testPresentationEscapes() throws {
        let escaped = try name("a\\.b\\032c\\\\.example.")
        XCTAssertEqual(escaped.labelCount, 2)
        XCTAssertEqual(Array(escaped.labels[0]), Array("a.b c\\".utf8))
        XCTAssertEqual(escaped.description, "a\\.b\\032c\\\\.example.")
        XCTAssertEqual(try DomainName(escaped.description), escaped)
        XCTAssertEqual(try DomainName("child", origin: name("parent.")).description, "child.parent.")
        XCTAssertEqual(try DomainName("@", origin: name("parent.")).description, "parent.")
        XCTAssertEqual(try name(".").description, ".")
    }

    func testBadNamesHaveClearErrors() {
        func code(_ text: String) -> DNSWireError.Code? {
            do {
                _ = try DomainName(text)
                return nil
            } catch let error as DNSWireError {
                return error.code
            } catch {
                return nil
            }
        }
        XCTAssertEqual(code("a..b."), .emptyLabel)
        XCTAssertEqual(code(".a."), .emptyLabel)
        XCTAssertEqual(code(""), .emptyLabel)
        XCTAssertEqual(code(String(repeating: "x", count: 64) + "."), .labelTooLong)
        XCTAssertNil(code(String(repeating: "x", count: 63) + "."))
        XCTAssertEqual(code(Array(repeating: String(repeating: "x", count: 63), count: 4).joined(separator: ".") + "."), .nameTooLong)
        XCTAssertEqual(code("a\\"), .badEscape)
        XCTAssertEqual(code("a\\25"), .badEscape)
        XCTAssertEqual(code("a\\256."), .badEscape)
    }

    func testWireWithCompression() throws {
        // "parent." at 0, then "child" + pointer to 0.
        let wire: [UInt8] = [6] + Array("parent".utf8) + [0, 5] + Array("child".utf8) + [0xC0, 0x00]
        let (name, next) = try DomainName.read(from: wire, at: 8)
        XCTAssertEqual(name.description, "child.parent.")
        XCTAssertEqual(next, wire.count)
        // A pointer to itself, or forwards, is refused: no loops.
        XCTAssertThrowsError(try DomainName.read(from: [0xC0, 0x00], at: 0))
        XCTAssertThrowsError(try DomainName.read(from: [1, 0x61, 0xC0, 0x00], at: 0))
        XCTAssertThrowsError(try DomainName.read(from: [0xC0, 0x02, 0x00], at: 0))
    }
}
