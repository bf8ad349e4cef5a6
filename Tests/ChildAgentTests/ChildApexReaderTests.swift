import ChildAgent
import DNSWire
import TestSupport
import XCTest

/// The child `child.parent.` with two NS names: `ns1.child.parent.` (in-bailiwick, 192.0.2.1
/// and 2001:db8::1) and `ns.provider.example.` (outside, 192.0.2.2 from the resolver
/// 192.0.2.53); the hidden primary 192.0.2.10 serves the NS set. So three servers to ask.
final class ChildApexReaderTests: XCTestCase {
    static let primary = "192.0.2.10"
    static let resolver = "192.0.2.53"
    static let dnskey = "child.parent. 300 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="
    static let otherDNSKEY = "child.parent. 300 IN DNSKEY 257 3 15 zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xAIEijs="
    static let cds = "child.parent. 300 IN CDS 2371 15 2 2BB183AF5F22588179A53B0A98631FAD1A292118F1A6C9A5C1E5E1D2E6A1A4C3"
    static let key = "child.parent. 300 IN KEY 512 3 15 Qmx1ZSBzaWcwIGtleSBmb3IgdGhlIGNoaWxkIGFwZXg="

    /// What one of the child's servers serves; `changes` replaces single answers.
    static func childServer(_ host: String, aa: Bool = true, _ changes: [String: ScriptedLookup.Reply] = [:]) -> [String: ScriptedLookup.Reply] {
        var script: [String: ScriptedLookup.Reply] = [
            "child.parent. NS": .records("child.parent. 300 IN NS ns1.child.parent.", "child.parent. 300 IN NS ns.provider.example.", aa: aa),
            "child.parent. DNSKEY": .records(dnskey, aa: aa),
            "child.parent. CDS": .records(cds, aa: aa),
            "child.parent. CDNSKEY": .noData(zone: "child.parent.", aa: aa),
            "child.parent. KEY": .records(key, aa: aa),
            "ns1.child.parent. A": .records("ns1.child.parent. 300 IN A 192.0.2.1", aa: aa),
            "ns1.child.parent. AAAA": .records("ns1.child.parent. 300 IN AAAA 2001:db8::1", aa: aa),
        ]
        script.merge(changes) { $1 }
        return Dictionary(uniqueKeysWithValues: script.map { ("\(host) \($0.key)", $0.value) })
    }

    /// Primary, resolver and the three servers, all agreeing.
    static func world() -> ScriptedLookup {
        let lookup = ScriptedLookup()
        lookup.set(childServer(primary))
        lookup.set([
            "\(resolver) ns.provider.example. A": .records("ns.provider.example. 300 IN A 192.0.2.2"),
            "\(resolver) ns.provider.example. AAAA": .noData(zone: "provider.example."),
        ])
        for host in ["192.0.2.1", "2001:db8::1", "192.0.2.2"] { lookup.set(childServer(host)) }
        return lookup
    }

    func reader(_ lookup: ScriptedLookup) -> ChildApexReader {
        ChildApexReader(lookup: lookup, resolver: NameserverAddress(Self.resolver))
    }

    func readError(_ lookup: ScriptedLookup) async throws -> ZoneReadError {
        do {
            let apex = try await reader(lookup).read(child: DomainName("child.parent."), primary: NameserverAddress(Self.primary))
            throw ToolError("the read succeeded: \(apex)")
        } catch let error as ZoneReadError {
            return error
        }
    }

    func testAllServersAgree() async throws {
        let lookup = Self.world()
        let apex = try await reader(lookup).read(child: DomainName("child.parent."), primary: NameserverAddress(Self.primary))
        XCTAssertEqual(
            apex.servers.map(\.description), ["ns.provider.example. at 192.0.2.2", "ns1.child.parent. at 192.0.2.1", "ns1.child.parent. at 2001:db8::1"])
        XCTAssertEqual(Set(apex.ns.map(\.rdataPresentation)), ["ns1.child.parent.", "ns.provider.example."])
        XCTAssertEqual(apex.glue.map(\.rdataPresentation), ["192.0.2.1", "2001:db8::1"])
        XCTAssertEqual(apex.dnskey, [try Record(Self.dnskey)])
        XCTAssertEqual(apex.cds, [try Record(Self.cds)])
        XCTAssertEqual(apex.cdnskey, [])
        XCTAssertEqual(apex.key, [try Record(Self.key)])
        XCTAssertEqual(apex.inBailiwickNameservers, [try DomainName("ns1.child.parent.")])
        XCTAssertEqual(apex.records(.aaaa).count, 1)
        // The child's servers are asked directly over TCP without recursion, all the same questions.
        let direct = lookup.queries.filter { $0.server.host != Self.resolver }
        XCTAssertTrue(direct.allSatisfy { !$0.recursionDesired && $0.transport == .tcp }, "\(direct)")
        for host in ["192.0.2.1", "2001:db8::1", "192.0.2.2"] {
            XCTAssertEqual(direct.filter { $0.server.host == host }.count, 7, host)
        }
        XCTAssertTrue(lookup.queries.filter { $0.server.host == Self.resolver }.allSatisfy(\.recursionDesired))
    }

    /// ns.provider.example. (asked first) serves a second DNSKEY: the two others agree, so it
    /// is the one named, with the key that differs.
    func testServerWithOtherDataIsNamed() async throws {
        let lookup = Self.world()
        lookup.set(Self.childServer("192.0.2.2", ["child.parent. DNSKEY": .records(Self.dnskey, Self.otherDNSKEY, aa: true)]))
        let error = try await readError(lookup)
        XCTAssertEqual(error.problems.map(\.code), [.differs])
        XCTAssertEqual(error.servers.map(\.description), ["ns.provider.example. at 192.0.2.2"])
        let problem = try XCTUnwrap(error.problems.first)
        XCTAssertEqual(problem.reference?.description, "ns1.child.parent. at 192.0.2.1")
        XCTAssertEqual(problem.extra, [try Record(Self.otherDNSKEY)])
        XCTAssertEqual(problem.missing, [])
        let tag = KEYData.keyTag(rdata: try Record(Self.otherDNSKEY).rdata)
        XCTAssertEqual(
            error.description,
            "cannot read the apex of child.parent.: ns.provider.example. at 192.0.2.2 serves child.parent. DNSKEY differently from "
                + "ns1.child.parent. at 192.0.2.1 (as 2 of 3 servers do): it serves child.parent. DNSKEY flags 257 algorithm 15 tag \(tag) "
                + "which ns1.child.parent. at 192.0.2.1 does not")
    }

    /// A server lacking the CDS, and one serving other glue, are each named with the question.
    func testMissingRRsetAndOtherGlueAreNamed() async throws {
        let lookup = Self.world()
        lookup.set(Self.childServer("192.0.2.1", ["child.parent. CDS": .noData(zone: "child.parent.", aa: true)]))
        lookup.set(Self.childServer("2001:db8::1", ["ns1.child.parent. A": .records("ns1.child.parent. 300 IN A 192.0.2.99", aa: true)]))
        let error = try await readError(lookup)
        XCTAssertEqual(error.problems.map(\.code), [.differs, .differs])
        XCTAssertEqual(error.servers.map(\.description), ["ns1.child.parent. at 192.0.2.1", "ns1.child.parent. at 2001:db8::1"])
        XCTAssertTrue(error.description.contains("ns1.child.parent. at 192.0.2.1 serves child.parent. CDS differently"), error.description)
        XCTAssertTrue(error.description.contains("it lacks child.parent. CDS 2371 15 2"), error.description)
        XCTAssertTrue(
            error.description.contains("ns1.child.parent. at 2001:db8::1 serves ns1.child.parent. A differently from ns.provider.example. at 192.0.2.2"),
            error.description)
    }

    /// A server that does not answer is named, and not asked again after the first timeout.
    func testUnreachableServerIsNamed() async throws {
        let lookup = Self.world()
        lookup.set(["192.0.2.2 child.parent. NS": .timeout])
        let error = try await readError(lookup)
        XCTAssertEqual(error.problems.map(\.code), [.unreachable])
        XCTAssertEqual(error.servers.map(\.description), ["ns.provider.example. at 192.0.2.2"])
        XCTAssertTrue(error.description.contains("ns.provider.example. at 192.0.2.2 did not answer child.parent. NS: timeout"), error.description)
        XCTAssertEqual(lookup.queries.filter { $0.server.host == "192.0.2.2" }.count, 1)
    }

    func testServerAnsweringWithoutAAIsNamed() async throws {
        let lookup = Self.world()
        lookup.set(Self.childServer("2001:db8::1", aa: false))
        let error = try await readError(lookup)
        XCTAssertEqual(Set(error.problems.map(\.code)), [.notAuthoritative])
        XCTAssertEqual(error.servers.map(\.description), ["ns1.child.parent. at 2001:db8::1"])
        XCTAssertTrue(error.description.contains("answered child.parent. NS without the AA bit"), error.description)
    }

    func testNameserverWithoutAddressFailsTheRead() async throws {
        let lookup = Self.world()
        lookup.set([
            "\(Self.resolver) ns.provider.example. A": .nxDomain(zone: "example."),
            "\(Self.resolver) ns.provider.example. AAAA": .nxDomain(zone: "example."),
        ])
        let error = try await readError(lookup)
        XCTAssertEqual(error.problems.map(\.code), [.noAddress])
        XCTAssertTrue(
            error.description.contains("the nameserver ns.provider.example. has no address (outside child.parent., asked of the resolver"), error.description)

        let noResolver = ChildApexReader(lookup: Self.world())
        do {
            _ = try await noResolver.read(child: DomainName("child.parent."), primary: NameserverAddress(Self.primary))
            XCTFail("read without a resolver succeeded")
        } catch let error as ZoneReadError {
            XCTAssertTrue(error.description.contains("no resolver is configured"), error.description)
        }
    }

    /// Servers from the configuration: the primary is not asked.
    func testExplicitServerList() async throws {
        let lookup = Self.world()
        let servers = [AuthoritativeServer(address: NameserverAddress("192.0.2.1")), AuthoritativeServer(address: NameserverAddress("192.0.2.2"))]
        let apex = try await ChildApexReader(lookup: lookup).read(child: DomainName("child.parent."), servers: servers)
        XCTAssertEqual(apex.servers, servers)
        XCTAssertEqual(apex.key, [try Record(Self.key)])
        XCTAssertFalse(lookup.queries.contains { $0.server.host == Self.primary })
    }
}
