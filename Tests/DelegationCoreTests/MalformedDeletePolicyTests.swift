import DNSWire
import DelegationCore
import XCTest

/// Issue 11, point 3 (found by the round-trip property test): a delete whose RDATA cannot be a
/// record of its type — a DS digest of the wrong length, an address of the wrong size, NS data
/// beyond the name — was accepted, and `nsupdate`/`knsupdate` then refused to parse the whole
/// script. Such deletes are refused; well-formed deletes (a SHA-1 DS included) still pass.
final class MalformedDeletePolicyTests: XCTestCase {
    let zone = try! DomainName("example.")
    let child = try! DomainName("example.example.")
    let glueName = try! DomainName("ns1.example.example.")

    var current: DelegationSnapshot {
        DelegationSnapshot(
            child: child, nameservers: [glueName, try! DomainName("ns.provider.net.")],
            ds: [[0x30, 0x39, 13, 1] + [UInt8](repeating: 7, count: 20)], glue: [glueName: [.init(type: .a, rdata: [192, 0, 2, 1])]])
    }

    func decide(_ operations: [Update.Operation]) -> PolicyVerdict {
        DelegationPolicyEngine.standard().evaluate(DelegationRequest(zone: zone, child: child, operations: operations, current: current))
    }

    func assertRejected(_ operation: Update.Operation, rule: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case .reject(let violation) = decide([operation]) else { return XCTFail("accepted, expected \(rule)", file: file, line: line) }
        XCTAssertEqual(violation.rule, rule, violation.text, file: file, line: line)
        XCTAssertEqual(violation.infoCode, DelegationEDE.invalidData, file: file, line: line)
    }

    func delete(_ name: DomainName, _ type: RRType, _ rdata: [UInt8]) -> Update.Operation {
        .delete(Record(name: name, type: type, ttl: 0, rdata: rdata))
    }

    func testMalformedDSDeletesAreRefused() {
        for (digestType, length) in [(1, 19), (1, 21), (2, 31), (2, 48), (4, 32), (4, 49)] as [(UInt8, Int)] {
            assertRejected(delete(child, .ds, [0x30, 0x39, 13, digestType] + [UInt8](repeating: 1, count: length)), rule: "ds-malformed")
        }
        assertRejected(delete(child, .ds, [0x30, 0x39, 13, 2]), rule: "ds-malformed")
        assertRejected(delete(child, .ds, []), rule: "ds-malformed")
    }

    func testWellFormedDSDeletesPass() {
        // The SHA-1 DS the parent holds may go, though no new one may come.
        XCTAssertEqual(decide([delete(child, .ds, [0x30, 0x39, 13, 1] + [UInt8](repeating: 7, count: 20))]), .accept)
        XCTAssertEqual(decide([delete(child, .ds, [0x30, 0x39, 13, 4] + [UInt8](repeating: 7, count: 48))]), .accept)
        // An unknown digest type has no known length.
        XCTAssertEqual(decide([delete(child, .ds, [0x30, 0x39, 13, 99, 1])]), .accept)
        XCTAssertEqual(decide([.deleteRRset(child, .ds)]), .accept)
    }

    func testMalformedGlueDeletesAreRefused() {
        assertRejected(delete(glueName, .a, [192, 0, 2, 1, 0]), rule: "glue-malformed")
        assertRejected(delete(glueName, .a, [192, 0, 2]), rule: "glue-malformed")
        assertRejected(delete(glueName, .aaaa, [UInt8](repeating: 0, count: 15)), rule: "glue-malformed")
        XCTAssertEqual(decide([delete(glueName, .aaaa, [UInt8](repeating: 0, count: 16))]), .accept)
    }

    func testNSDeletesWithDataBeyondTheNameAreRefused() throws {
        let name = try DomainName("ns.provider.net.")
        assertRejected(delete(child, .ns, name.wire + [0]), rule: "malformed-ns")
        XCTAssertEqual(decide([delete(child, .ns, name.wire)]), .accept)
    }
}
