import DNSWire
import DelegationCore
import XCTest

/// The child agent's diff, one scenario per rule. Every diff computed here is also checked
/// against the parent's side: applied to the snapshot it gives the desired delegation, and when
/// it is not empty the standard policy engine accepts it.
final class DelegationDiffTests: XCTestCase {
    let zone = try! DomainName("parent.")
    let child = try! DomainName("example.parent.")

    static let ksk = "example.parent. 3600 IN DNSKEY 257 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
    static let zsk = "example.parent. 3600 IN DNSKEY 256 3 15 7JuIdYq+Ekmd8aDbvbVhxfQE5aiz+3wwv8kuBPxxt78="
    /// The DS of ``ksk`` as `ldns-key2ds -n -2` and `dnssec-dsfromkey -2` print it.
    static let kskDS = "34259 15 2 B5D424768C740243645DD2ACBA078EFC8B47279D35902083258538722F441AB2"
    static let oldDS = "12345 13 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1a"
    static let newDS = "23456 13 2 5ce294791c870aa389a047fefa161bffaba4af0818e67264e9313f709b4d388d"

    func record(_ text: String) -> Record { try! Record(text) }
    func name(_ text: String) -> DomainName { try! DomainName(text) }
    func dsRdata(_ text: String) -> [UInt8] { record("example.parent. 3600 IN DS \(text)").rdata }

    /// The parent holds: NS ns1.example.parent. (glue 192.0.2.1) and ns.provider.net., one DS,
    /// and the child's KEY.
    var current: DelegationSnapshot {
        try! DelegationSnapshot(
            child: child,
            records: [
                record("example.parent. 3600 IN NS ns1.example.parent."),
                record("example.parent. 3600 IN NS ns.provider.net."),
                record("ns1.example.parent. 3600 IN A 192.0.2.1"),
                record("example.parent. 3600 IN DS \(Self.oldDS)"),
                record("example.parent. 3600 IN KEY 512 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="),
            ])
    }

    /// The child apex that matches ``current``, plus `extra` records.
    func apex(_ extra: [String] = [], replacing base: [String]? = nil) throws -> ChildApex {
        let lines =
            (base ?? [
                "example.parent. 3600 IN NS ns1.example.parent.",
                "example.parent. 3600 IN NS ns.provider.net.",
                "ns1.example.parent. 3600 IN A 192.0.2.1",
                "example.parent. 3600 IN CDS \(Self.oldDS)",
            ]) + extra
        return try ChildApex(child: child, records: lines.map { try Record($0) })
    }

    /// Computes the diff and checks it as the parent would.
    func diff(_ apex: ChildApex, current: DelegationSnapshot? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> DelegationDiff {
        let current = current ?? self.current
        let diff = try DelegationDiff(current: current, apex: apex, ttl: 3600)
        let after = try current.applying(diff.operations)
        XCTAssertEqual(after, diff.desired, "applying the diff gives the desired delegation", file: file, line: line)
        XCTAssertEqual(after.nameservers, apex.nameservers, file: file, line: line)
        XCTAssertEqual(after.ds, apex.ds, file: file, line: line)
        XCTAssertEqual(after.keys, current.keys, "KEY records are never touched", file: file, line: line)
        XCTAssertEqual(after.glue.filter { $0.key.isSubdomain(of: child) }, apex.glue, file: file, line: line)
        for operation in diff.operations {
            XCTAssertNotEqual(operation.type, .key, file: file, line: line)
            if case .add(let record) = operation { XCTAssertEqual(record.ttl, 3600, file: file, line: line) }
        }
        if diff.isEmpty {
            XCTAssertEqual(after, current, file: file, line: line)
        } else {
            let verdict = DelegationPolicyEngine.standard().evaluate(
                DelegationRequest(zone: zone, child: child, operations: diff.operations, current: current))
            XCTAssertEqual(verdict, .accept, "\(diff.operations)", file: file, line: line)
        }
        return diff
    }

    func assertRefused(
        _ code: DelegationDiffError.Code, mentioning text: String, file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> Any
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let error = error as? DelegationDiffError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.code, code, error.detail, file: file, line: line)
            XCTAssertTrue(error.description.contains(text), error.description, file: file, line: line)
        }
    }

    // MARK: NS and glue

    func testNothingToDo() throws {
        let diff = try diff(try apex())
        XCTAssertTrue(diff.isEmpty)
        XCTAssertEqual(diff.operations, [])
    }

    func testNamesCompareCaseInsensitively() throws {
        let apex = try apex(replacing: [
            "example.parent. 3600 IN NS NS1.Example.Parent.",
            "example.parent. 3600 IN NS ns.PROVIDER.net.",
            "ns1.EXAMPLE.parent. 3600 IN A 192.0.2.1",
            "example.parent. 3600 IN CDS \(Self.oldDS.uppercased())",
        ])
        XCTAssertTrue(try diff(apex).isEmpty)
    }

    func testNSAdded() throws {
        let diff = try diff(try apex(["example.parent. 3600 IN NS ns2.provider.net."]))
        XCTAssertEqual(diff.operations, [.add(record("example.parent. 3600 IN NS ns2.provider.net."))])
    }

    func testNSRemoved() throws {
        let diff = try diff(
            try apex(replacing: [
                "example.parent. 3600 IN NS ns1.example.parent.",
                "ns1.example.parent. 3600 IN A 192.0.2.1",
                "example.parent. 3600 IN CDS \(Self.oldDS)",
            ]))
        XCTAssertEqual(diff.operations, [.delete(record("example.parent. 0 IN NS ns.provider.net."))])
    }

    func testGlueAddedForInBailiwickNSOnly() throws {
        let diff = try diff(
            try apex([
                "example.parent. 3600 IN NS ns2.example.parent.",
                "ns2.example.parent. 3600 IN A 192.0.2.2",
                "ns2.example.parent. 3600 IN AAAA 2001:db8::2",
                "example.parent. 3600 IN NS ns.other.net.",
                "ns.other.net. 3600 IN A 198.51.100.1",
                // An address inside the child for a name no NS uses is not glue either.
                "www.example.parent. 3600 IN A 192.0.2.80",
            ]))
        XCTAssertEqual(
            diff.operations,
            [
                .add(record("example.parent. 3600 IN NS ns.other.net.")),
                .add(record("example.parent. 3600 IN NS ns2.example.parent.")),
                .add(record("ns2.example.parent. 3600 IN A 192.0.2.2")),
                .add(record("ns2.example.parent. 3600 IN AAAA 2001:db8::2")),
            ])
    }

    func testGlueOfRemovedInBailiwickNSDeleted() throws {
        let diff = try diff(
            try apex(replacing: [
                "example.parent. 3600 IN NS ns.provider.net.",
                "example.parent. 3600 IN NS ns2.provider.net.",
                // Still served by the child, but no NS uses it any more: not glue.
                "ns1.example.parent. 3600 IN A 192.0.2.1",
                "example.parent. 3600 IN CDS \(Self.oldDS)",
            ]))
        XCTAssertEqual(
            diff.operations,
            [
                .add(record("example.parent. 3600 IN NS ns2.provider.net.")),
                .delete(record("example.parent. 0 IN NS ns1.example.parent.")),
                .deleteRRset(name("ns1.example.parent."), .a),
            ])
    }

    func testStaleGlueBelowTheChildDeleted() throws {
        var current = self.current
        current.glue[name("old.example.parent.")] = [.init(type: .aaaa, rdata: record("old.example.parent. 1 IN AAAA 2001:db8::9").rdata)]
        // Outside the child: not ours, left alone.
        current.glue[name("ns.anexample.parent.")] = [.init(type: .a, rdata: record("x. 1 IN A 192.0.2.7").rdata)]
        let diff = try diff(try apex(), current: current)
        XCTAssertEqual(diff.operations, [.deleteRRset(name("old.example.parent."), .aaaa)])
        XCTAssertNotNil(diff.desired.glue[name("ns.anexample.parent.")])
    }

    func testGlueAddressChanged() throws {
        let diff = try diff(
            try apex(replacing: [
                "example.parent. 3600 IN NS ns1.example.parent.",
                "example.parent. 3600 IN NS ns.provider.net.",
                "ns1.example.parent. 3600 IN A 192.0.2.9",
                "ns1.example.parent. 3600 IN AAAA 2001:db8::1",
                "example.parent. 3600 IN CDS \(Self.oldDS)",
            ]))
        XCTAssertEqual(
            diff.operations,
            [
                .add(record("ns1.example.parent. 3600 IN A 192.0.2.9")),
                .add(record("ns1.example.parent. 3600 IN AAAA 2001:db8::1")),
                .delete(record("ns1.example.parent. 0 IN A 192.0.2.1")),
            ])
    }

    /// `ns.anexample.parent.` ends in the same characters as `example.parent.` but is a sibling,
    /// not inside the child: no glue, and no address needed (RFC 9471 in-domain vs sibling).
    func testSiblingSharingASuffixIsOutOfBailiwick() throws {
        let apex = try apex(replacing: [
            "example.parent. 3600 IN NS ns.anexample.parent.",
            "example.parent. 3600 IN NS ns.provider.net.",
            "ns.anexample.parent. 3600 IN A 192.0.2.53",
            "example.parent. 3600 IN CDS \(Self.oldDS)",
        ])
        XCTAssertEqual(apex.inBailiwickNameservers, [])
        XCTAssertEqual(apex.glue, [:])
        let diff = try diff(apex)
        XCTAssertEqual(
            diff.operations,
            [
                .add(record("example.parent. 3600 IN NS ns.anexample.parent.")),
                .delete(record("example.parent. 0 IN NS ns1.example.parent.")),
                .deleteRRset(name("ns1.example.parent."), .a),
            ])
        let memberwise = ChildApex(
            child: child, nameservers: [name("ns.anexample.parent.")],
            glue: [name("ns.anexample.parent."): [.init(type: .a, rdata: [192, 0, 2, 53])]])
        XCTAssertEqual(memberwise.glue, [:])
    }

    func testOperationsOrderedAddsBeforeDeletes() throws {
        let diff = try diff(
            try apex(replacing: [
                "example.parent. 3600 IN NS ns2.example.parent.",
                "ns2.example.parent. 3600 IN A 192.0.2.2",
                "example.parent. 3600 IN CDS \(Self.newDS)",
            ]))
        XCTAssertEqual(
            diff.operations,
            [
                .add(record("example.parent. 3600 IN NS ns2.example.parent.")),
                .add(record("ns2.example.parent. 3600 IN A 192.0.2.2")),
                .add(record("example.parent. 3600 IN DS \(Self.newDS)")),
                .delete(record("example.parent. 0 IN NS ns.provider.net.")),
                .delete(record("example.parent. 0 IN NS ns1.example.parent.")),
                .deleteRRset(name("ns1.example.parent."), .a),
                .delete(record("example.parent. 0 IN DS \(Self.oldDS)")),
            ])
    }

    // MARK: DS

    func testDSFromCDS() throws {
        let apex = try apex(["example.parent. 3600 IN CDS \(Self.newDS)", Self.ksk])
        XCTAssertEqual(apex.ds, [dsRdata(Self.oldDS), dsRdata(Self.newDS)], "CDS wins over DNSKEY")
        let diff = try diff(apex)
        XCTAssertEqual(diff.operations, [.add(record("example.parent. 3600 IN DS \(Self.newDS)"))])
    }

    func testDSFromDNSKEYWithSEPOnly() throws {
        let apex = try apex(
            [Self.ksk, Self.zsk],
            replacing: [
                "example.parent. 3600 IN NS ns1.example.parent.",
                "example.parent. 3600 IN NS ns.provider.net.",
                "ns1.example.parent. 3600 IN A 192.0.2.1",
            ])
        XCTAssertEqual(apex.ds, [dsRdata(Self.kskDS)], "the ZSK gets no DS")
        let diff = try diff(apex)
        XCTAssertEqual(
            diff.operations,
            [
                .add(record("example.parent. 3600 IN DS \(Self.kskDS)")),
                .delete(record("example.parent. 0 IN DS \(Self.oldDS)")),
            ])
    }

    func testDSFromCDNSKEYWhenNoCDS() throws {
        let cdnskey = Self.zsk.replacingOccurrences(of: "DNSKEY 256", with: "CDNSKEY 256")
        let ds = try ChildApex.delegationSigners(
            child: child, cds: [], cdnskey: [record(cdnskey).rdata], dnskey: [record(Self.ksk).rdata])
        XCTAssertEqual(ds, [try DSData(sha256OfDNSKEY: record(Self.zsk).rdata, owner: child).rdata])
        let delete = try ChildApex.delegationSigners(
            child: child, cds: [], cdnskey: [record("example.parent. 3600 IN CDNSKEY 0 3 0 AA==").rdata], dnskey: [record(Self.ksk).rdata])
        XCTAssertEqual(delete, [])
    }

    func testCDSDeleteRemovesDS() throws {
        let apex = try apex(
            ["example.parent. 3600 IN CDS 0 0 0 00", Self.ksk],
            replacing: [
                "example.parent. 3600 IN NS ns1.example.parent.",
                "example.parent. 3600 IN NS ns.provider.net.",
                "ns1.example.parent. 3600 IN A 192.0.2.1",
            ])
        XCTAssertEqual(apex.ds, [])
        let diff = try diff(apex)
        XCTAssertEqual(diff.operations, [.deleteRRset(child, .ds)])
    }

    func testUnsignedChildHoldsNoDS() throws {
        let apex = try apex(replacing: [
            "example.parent. 3600 IN NS ns1.example.parent.",
            "example.parent. 3600 IN NS ns.provider.net.",
            "ns1.example.parent. 3600 IN A 192.0.2.1",
        ])
        XCTAssertEqual(try diff(apex).operations, [.deleteRRset(child, .ds)])
    }

    func testSHA1CDSLeftOutWhenTheKeyHasASHA256One() throws {
        let sha1 = "12345 13 1 11f6ad8ec52a2984abaafd7c3b516503785c2072"
        let apex = try apex(["example.parent. 3600 IN CDS \(sha1)"])
        XCTAssertEqual(apex.ds, [dsRdata(Self.oldDS)])
        XCTAssertTrue(try diff(apex).isEmpty)
    }

    // MARK: Refusals

    func testSHA1OnlyCDSRefused() {
        assertRefused(.unacceptableDS, mentioning: "digest type 1") {
            try self.apex(replacing: [
                "example.parent. 3600 IN NS ns.provider.net.",
                "example.parent. 3600 IN CDS 12345 13 1 11f6ad8ec52a2984abaafd7c3b516503785c2072",
            ])
        }
    }

    func testCDSDeleteWithOtherCDSRefused() {
        assertRefused(.deleteNotAlone, mentioning: "0 0 0 00") {
            try self.apex(["example.parent. 3600 IN CDS 0 0 0 00"])
        }
    }

    func testDNSKEYsWithoutSEPRefused() {
        assertRefused(.noSecureEntryPoint, mentioning: "SEP") {
            try self.apex([Self.zsk], replacing: ["example.parent. 3600 IN NS ns.provider.net."])
        }
    }

    func testEmptyNSRefused() throws {
        let apex = try apex(replacing: ["example.parent. 3600 IN CDS \(Self.oldDS)"])
        assertRefused(.noNameservers, mentioning: "no NS records") {
            try DelegationDiff(current: self.current, apex: apex, ttl: 3600)
        }
    }

    func testInBailiwickNSWithoutAddressRefused() throws {
        let apex = try apex(["example.parent. 3600 IN NS ns2.example.parent."])
        assertRefused(.missingGlue, mentioning: "ns2.example.parent.") {
            try DelegationDiff(current: self.current, apex: apex, ttl: 3600)
        }
    }

    func testOtherChildRefused() throws {
        let other = ChildApex(child: name("other.parent."), nameservers: [name("ns.provider.net.")])
        assertRefused(.childMismatch, mentioning: "other.parent.") {
            try DelegationDiff(current: self.current, apex: other, ttl: 3600)
        }
    }

    func testLimitsRefused() throws {
        let apex = try apex(["example.parent. 3600 IN NS ns2.provider.net."])
        assertRefused(.tooLarge, mentioning: "at most 2") {
            try DelegationDiff(current: self.current, apex: apex, ttl: 3600, limits: DelegationLimits(maxNameservers: 2))
        }
    }

    func testUnacceptableDSInMemberwiseApexRefused() {
        let apex = ChildApex(child: child, nameservers: [name("ns.provider.net.")], ds: [[0x30, 0x39, 13, 1, 1, 2, 3]])
        assertRefused(.unacceptableDS, mentioning: "digest type 2 or 4") {
            try DelegationDiff(current: self.current, apex: apex, ttl: 3600)
        }
    }
}
