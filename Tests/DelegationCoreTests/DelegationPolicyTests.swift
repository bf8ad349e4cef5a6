import DNSWire
import DelegationCore
import XCTest

/// The trust rules of DESIGN.md as policy decisions, one scenario per rule.
final class DelegationPolicyTests: XCTestCase {
    let zone = try! DomainName("example.")
    let child = try! DomainName("example.example.")
    let engine = DelegationPolicyEngine.standard()

    func record(_ text: String) -> Record { try! Record(text) }

    /// example.example. delegated to ns1.example.example. (glue 192.0.2.1) and ns.provider.net.
    var current: DelegationSnapshot {
        try! DelegationSnapshot(
            child: child,
            records: [
                record("example.example. 3600 IN NS ns1.example.example."),
                record("example.example. 3600 IN NS ns.provider.net."),
                record("ns1.example.example. 3600 IN A 192.0.2.1"),
                record("example.example. 3600 IN DS 12345 13 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1a"),
            ])
    }

    func decide(_ operations: [Update.Operation], prerequisites: [Update.Prerequisite] = [], engine: DelegationPolicyEngine? = nil) -> PolicyVerdict {
        (engine ?? self.engine).evaluate(DelegationRequest(zone: zone, child: child, prerequisites: prerequisites, operations: operations, current: current))
    }

    func assertRejected(
        _ operations: [Update.Operation], rule: String, prerequisites: [Update.Prerequisite] = [], file: StaticString = #filePath, line: UInt = #line
    ) {
        switch decide(operations, prerequisites: prerequisites) {
        case .accept:
            XCTFail("accepted, expected \(rule)", file: file, line: line)
        case .reject(let violation):
            XCTAssertEqual(violation.rule, rule, violation.text, file: file, line: line)
            XCTAssertTrue(violation.extendedError.extraText.hasPrefix(rule), file: file, line: line)
        }
    }

    // MARK: Accepted

    func testReplaceNSWithNewInBailiwickServerAndGlue() throws {
        let operations: [Update.Operation] = [
            .deleteRRset(child, .ns),
            .add(record("example.example. 3600 IN NS ns2.example.example.")),
            .add(record("example.example. 3600 IN NS ns.provider.net.")),
            .add(record("ns2.example.example. 3600 IN A 192.0.2.2")),
            .add(record("ns2.example.example. 3600 IN AAAA 2001:db8::2")),
            .delete(record("ns1.example.example. 0 IN A 192.0.2.1")),
        ]
        XCTAssertEqual(decide(operations), .accept)
        let after = try current.applying(operations)
        XCTAssertEqual(after.nameservers, [try DomainName("ns2.example.example."), try DomainName("ns.provider.net.")])
        XCTAssertNil(after.glue[try DomainName("ns1.example.example.")])
        XCTAssertEqual(after.glue[try DomainName("ns2.example.example.")]?.count, 2)
    }

    func testDSRolloverAndKEYRollover() {
        XCTAssertEqual(
            decide([
                .deleteRRset(child, .ds),
                .add(record("example.example. 3600 IN DS 23456 15 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1b")),
                .add(record("example.example. 3600 IN KEY 512 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")),
            ]), .accept)
    }

    func testDeletingGlueNoNSUsesAnyMore() {
        XCTAssertEqual(
            decide([
                .delete(record("example.example. 0 IN NS ns1.example.example.")),
                .deleteName(try! DomainName("ns1.example.example.")),
            ]), .accept)
    }

    /// The parent, not the child, sets the TTL of what it publishes.
    func testTheAgentSetsTheTTL() {
        let request = DelegationRequest(
            zone: zone, child: child,
            operations: [
                .add(record("example.example. 5 IN NS ns.provider2.net.")),
                .delete(record("ns1.example.example. 0 IN A 192.0.2.1")),
            ], current: current)
        XCTAssertEqual(
            request.operations(ttl: 86400),
            [
                .add(record("example.example. 86400 IN NS ns.provider2.net.")),
                .delete(record("ns1.example.example. 0 IN A 192.0.2.1")),
            ])
    }

    // MARK: Refused, one rule each

    func testSiblingWithSharedSuffixIsOutside() {
        // "ample.example." ends with the same characters as "example.example." but is a sibling.
        assertRejected([.add(record("ample.example. 3600 IN NS ns.evil.net."))], rule: "outside-child")
    }

    func testAnotherChildIsOutside() {
        assertRejected([.deleteRRset(try! DomainName("other.example."), .ns)], rule: "outside-child")
    }

    func testParentApexIsRefused() {
        assertRejected([.add(record("example. 3600 IN NS ns.evil.net."))], rule: "parent-apex")
    }

    func testNonDelegationTypeIsRefused() {
        assertRejected([.add(record("www.example.example. 3600 IN TXT \"hello\""))], rule: "type-not-allowed")
        assertRejected([.add(record("example.example. 3600 IN CNAME elsewhere.net."))], rule: "type-not-allowed")
    }

    func testApexTypesOnlyAtTheApex() {
        assertRejected([.add(record("sub.example.example. 3600 IN NS ns.provider.net."))], rule: "apex-only")
        assertRejected(
            [.add(record("sub.example.example. 3600 IN DS 12345 13 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1a"))], rule: "apex-only")
    }

    func testGlueOutOfBailiwick() {
        assertRejected([.add(record("ns.provider.net. 3600 IN A 192.0.2.53"))], rule: "glue-out-of-bailiwick")
    }

    func testGlueForANameNoNSUses() {
        assertRejected([.add(record("mail.example.example. 3600 IN A 192.0.2.25"))], rule: "glue-unused")
    }

    func testInBailiwickNSWithoutGlue() {
        assertRejected([.add(record("example.example. 3600 IN NS ns3.example.example."))], rule: "glue-missing")
        assertRejected([.delete(record("ns1.example.example. 0 IN A 192.0.2.1"))], rule: "glue-missing")
    }

    func testDeletingEveryNS() {
        assertRejected([.deleteRRset(child, .ns)], rule: "ns-empty")
        assertRejected(
            [
                .delete(record("example.example. 0 IN NS ns1.example.example.")),
                .delete(record("example.example. 0 IN NS ns.provider.net.")),
            ], rule: "ns-empty")
        assertRejected([.deleteName(child)], rule: "delete-child-apex")
    }

    func testPrerequisiteOutsideChild() {
        assertRejected(
            [.add(record("example.example. 3600 IN NS ns.provider2.net."))], rule: "prerequisite-outside-child",
            prerequisites: [.nameInUse(try! DomainName("secret.example."))])
    }

    func testLimits() {
        let many = (0..<65).map { Update.Operation.add(record("example.example. 3600 IN NS ns\($0).provider.net.")) }
        assertRejected(many, rule: "too-many-changes")
        let fourteen = (0..<14).map { Update.Operation.add(record("example.example. 3600 IN NS ns\($0).provider.net.")) }
        assertRejected(fourteen, rule: "too-many-ns")
        assertRejected([], rule: "no-changes")
    }

    func testBadDSAndKEY() {
        assertRejected([.add(record("example.example. 3600 IN DS 12345 13 1 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de"))], rule: "ds-digest-type")
        assertRejected([.add(Record(name: child, type: .ds, ttl: 3600, rdata: [0x30, 0x39, 13, 2, 1, 2, 3]))], rule: "ds-malformed")
        assertRejected([.add(record("example.example. 3600 IN KEY 512 3 15 AAEC"))], rule: "key-unusable")
    }

    func testNotAChild() {
        let verdict = engine.evaluate(
            DelegationRequest(zone: zone, child: zone, operations: [.add(record("example. 3600 IN NS a.b."))], current: DelegationSnapshot(child: zone)))
        guard case .reject(let violation) = verdict else { return XCTFail("accepted") }
        XCTAssertEqual(violation.rule, "not-a-child")
    }

    /// A rule set that knows nothing of DS refuses DS changes: what no policy understands is refused.
    func testFailClosedForTypesNoPolicyUnderstands() {
        let scopeOnly = DelegationPolicyEngine(policies: [ChildScopePolicy()])
        XCTAssertEqual(decide([.add(record("example.example. 3600 IN NS ns.provider2.net."))], engine: scopeOnly), .accept)
        struct NSOnly: DelegationPolicy {
            var understoodTypes: Set<RRType> { [.ns] }
            func check(_ request: DelegationRequest) -> PolicyVerdict { .accept }
        }
        let nsOnly = DelegationPolicyEngine(policies: [NSOnly()])
        guard
            case .reject(let violation) = decide(
                [.add(record("example.example. 3600 IN DS 12345 13 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1a"))], engine: nsOnly)
        else {
            return XCTFail("accepted")
        }
        XCTAssertEqual(violation.rule, "type-not-allowed")
    }
}

extension DelegationPolicyTests {
    /// RFC 2136 §3.2.5: each prerequisite form with the RCODE a failed one gives.
    func testPrerequisitesAgainstTheDelegation() throws {
        let ns1 = try DomainName("ns1.example.example.")
        XCTAssertNil(current.evaluate([.rrsetExists(child, .ns), .nameInUse(ns1), .rrsetDoesNotExist(child, .key)]))
        XCTAssertEqual(current.evaluate([.rrsetExists(child, .key)]), .nxRRset)
        XCTAssertEqual(current.evaluate([.rrsetDoesNotExist(child, .ds)]), .yxRRset)
        XCTAssertEqual(current.evaluate([.nameInUse(try DomainName("ns9.example.example."))]), .nxDomain)
        XCTAssertEqual(current.evaluate([.nameNotInUse(ns1)]), .yxDomain)
        XCTAssertNil(
            current.evaluate([
                .rrsetEquals(record("example.example. 0 IN NS NS1.example.example.")),
                .rrsetEquals(record("example.example. 0 IN NS ns.provider.net.")),
            ]))
        XCTAssertEqual(current.evaluate([.rrsetEquals(record("example.example. 0 IN NS ns1.example.example."))]), .nxRRset)
    }
}
