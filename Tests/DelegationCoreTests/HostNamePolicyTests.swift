import DNSWire
import DelegationCore
import XCTest

/// Issue 11, point 2: NS targets and glue owners a child adds must be host names (RFC 1123
/// §2.1). On the old code a trusted child's `NS a\(b.example.net.` was accepted, committed to the
/// NSD fragment, and the fragment reader then refused every later commit of every child.
final class HostNamePolicyTests: XCTestCase {
    let zone = try! DomainName("example.")
    let child = try! DomainName("example.example.")
    let engine = DelegationPolicyEngine.standard()

    var current: DelegationSnapshot {
        DelegationSnapshot(
            child: child, nameservers: [try! DomainName("ns1.example.example."), try! DomainName("ns.provider.net.")],
            glue: [try! DomainName("ns1.example.example."): [.init(type: .a, rdata: [192, 0, 2, 1])]])
    }

    func ns(_ target: String) throws -> Update.Operation {
        .add(Record(name: child, type: .ns, ttl: 3600, rdata: try DomainName(target).wire))
    }

    func glue(_ owner: String, _ address: [UInt8] = [192, 0, 2, 7]) throws -> Update.Operation {
        .add(Record(name: try DomainName(owner), type: .a, ttl: 3600, rdata: address))
    }

    func decide(_ operations: [Update.Operation], current: DelegationSnapshot? = nil) -> PolicyVerdict {
        engine.evaluate(DelegationRequest(zone: zone, child: child, operations: operations, current: current ?? self.current))
    }

    func assertRejected(_ operations: [Update.Operation], rule: String, mentioning: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case .reject(let violation) = decide(operations) else {
            return XCTFail("accepted, expected \(rule)", file: file, line: line)
        }
        XCTAssertEqual(violation.rule, rule, violation.text, file: file, line: line)
        XCTAssertEqual(violation.infoCode, DelegationEDE.prohibited, file: file, line: line)
        XCTAssertTrue(violation.extendedError.extraText.hasPrefix(rule), file: file, line: line)
        XCTAssertTrue(violation.text.contains(mentioning), "\"\(mentioning)\" missing in: \(violation.text)", file: file, line: line)
    }

    /// The issue's name, and every other kind of label a host name cannot have.
    func testNSTargetsThatAreNotHostNamesAreRefused() throws {
        let refused = [
            #"a\(b.example.net."#, "_dns.example.net.", "ns_1.example.net.", "-ns.example.net.", "ns-.example.net.", "-.example.net.",
            #"ns\032a.example.net."#, #"ns\.x.example.net."#, #"ns\195\169.example.net."#, #"ns\000.example.net."#, "ns*.example.net.",
            "*.example.net.", #"ns\;.example.net."#, #"ns\".example.net."#, "ns/1.example.net.", "ns@x.example.net.", "ns.exa_mple.net.",
            ".",
        ]
        for target in refused {
            assertRejected([try ns(target)], rule: "ns-not-hostname", mentioning: "not a host name")
        }
        assertRejected([try ns(#"a\(b.example.net."#)], rule: "ns-not-hostname", mentioning: #"a\(b"#)
        assertRejected([try ns("_dns.example.net.")], rule: "ns-not-hostname", mentioning: "RFC 1123")
        assertRejected([try ns("ns-.example.net.")], rule: "ns-not-hostname", mentioning: "hyphen")
        // Also when it would be the only NS left, and whatever else the UPDATE does.
        assertRejected([.deleteRRset(child, .ns), try ns("ns1.example.example."), try ns("x_y.example.net.")], rule: "ns-not-hostname", mentioning: "x_y")
    }

    func testGlueOwnersThatAreNotHostNamesAreRefused() throws {
        for owner in ["n_s.example.example.", #"n\(s.example.example."#, "-ns.example.example.", "ns-.sub.example.example.", #"a\.b.example.example."#] {
            assertRejected([try glue(owner), try ns(owner)], rule: "glue-not-hostname", mentioning: "not a host name")
            // With the NS first, the NS is what is reported.
            assertRejected([try ns(owner), try glue(owner)], rule: "ns-not-hostname", mentioning: "not a host name")
        }
        let aaaa = Update.Operation.add(Record(name: try DomainName("n_s.example.example."), type: .aaaa, ttl: 60, rdata: [UInt8](repeating: 1, count: 16)))
        assertRejected([aaaa], rule: "glue-not-hostname", mentioning: "AAAA")
    }

    func testHostNamesAreAccepted() throws {
        let label63 = String(repeating: "a", count: 62) + "9"
        let accepted = [
            "NS1.Provider.NET.", "ns.provider.net.", "1.example.net.", "123.456.net.", "a.b.c.d.e.f.example.net.", "ns-1.example.net.",
            "n--s.example.net.", "xn--bcher-kva.example.", "\(label63).example.net.", "0-0.example.net.", "x.y",
        ]
        for target in accepted {
            XCTAssertEqual(decide([try ns(target)]), .accept, target)
        }
        for owner in ["ns2.example.example.", "NS2.EXAMPLE.example.", "a-1.b2.example.example."] {
            XCTAssertEqual(decide([try ns(owner), try glue(owner)]), .accept, owner)
        }
    }

    /// Cleaning up is always possible: deleting an NS or glue whose name is not a host name.
    func testDeletingOddNamesIsAllowed() throws {
        let odd = try DomainName(#"a\(b.provider.net."#)
        let oddGlue = try DomainName("n_s.example.example.")
        var snapshot = current
        snapshot.nameservers.insert(odd)
        snapshot.nameservers.insert(oddGlue)
        snapshot.glue[oddGlue] = [.init(type: .a, rdata: [192, 0, 2, 9])]
        let operations: [Update.Operation] = [
            .delete(Record(name: child, type: .ns, ttl: 0, rdata: odd.wire)),
            .delete(Record(name: child, type: .ns, ttl: 0, rdata: oddGlue.wire)),
            .deleteRRset(oddGlue, .a),
        ]
        XCTAssertEqual(decide(operations, current: snapshot), .accept)
    }

    /// An NS RDATA with octets after the name is malformed (RFC 1035 §3.3.11), not a name.
    func testNSDataBeyondTheNameIsMalformed() throws {
        let record = Record(name: child, type: .ns, ttl: 3600, rdata: try DomainName("ns.provider.net.").wire + [1, 2])
        guard case .reject(let violation) = decide([.add(record)]) else { return XCTFail("accepted") }
        XCTAssertEqual(violation.rule, "malformed-ns")
        XCTAssertEqual(violation.infoCode, DelegationEDE.invalidData)
    }

    func testProblemTexts() throws {
        XCTAssertNil(HostNamePolicy.problem(try DomainName("ns1.example.net.")))
        XCTAssertEqual(HostNamePolicy.problem(.root), "the root is no host's name")
        XCTAssertEqual(HostNamePolicy.problem(try DomainName("-a.net."))?.contains("\"-a\" starts or ends with a hyphen"), true)
        XCTAssertEqual(HostNamePolicy.problem(try DomainName(#"a\(b.net."#))?.contains(#""a\(b" has octets other than"#), true)
    }
}
