import ChildAgent
import DNSWire
import TestSupport
import XCTest

/// The parent `parent.` on two servers, 192.0.2.100 and 192.0.2.101, delegating `child.parent.`.
final class ParentDelegationReaderTests: XCTestCase {
    static let ds = "child.parent. 300 IN DS 2371 15 2 2BB183AF5F22588179A53B0A98631FAD1A292118F1A6C9A5C1E5E1D2E6A1A4C3"
    let servers = [
        AuthoritativeServer(name: try! DomainName("ns1.parent."), address: NameserverAddress("192.0.2.100")),
        AuthoritativeServer(name: try! DomainName("ns2.parent."), address: NameserverAddress("192.0.2.101")),
    ]

    static func parentServer(_ host: String, _ changes: [String: ScriptedLookup.Reply] = [:]) -> [String: ScriptedLookup.Reply] {
        var script: [String: ScriptedLookup.Reply] = [
            "child.parent. NS": .referral(
                ["child.parent. 3600 IN NS ns1.child.parent.", "child.parent. 3600 IN NS ns.provider.example."],
                glue: ["ns1.child.parent. 3600 IN A 192.0.2.1", "ns1.child.parent. 3600 IN AAAA 2001:db8::1", "ns.provider.example. 3600 IN A 192.0.2.2"]),
            "child.parent. DS": .records(ds, aa: true),
            // Knot's answer: a referral, the KEY (if any) is occluded.
            "child.parent. KEY": .referral(["child.parent. 3600 IN NS ns1.child.parent.", "child.parent. 3600 IN NS ns.provider.example."]),
        ]
        script.merge(changes) { $1 }
        return Dictionary(uniqueKeysWithValues: script.map { ("\(host) \($0.key)", $0.value) })
    }

    func child() throws -> DomainName { try DomainName("child.parent.") }
    func parent() throws -> DomainName { try DomainName("parent.") }

    func testReferralGlueAndDS() async throws {
        let lookup = ScriptedLookup(Self.parentServer("192.0.2.100"))
        lookup.set(Self.parentServer("192.0.2.101"))
        let delegation = try await ParentDelegationReader(lookup: lookup).read(child: child(), parent: parent(), servers: servers)
        XCTAssertTrue(delegation.isDelegated)
        XCTAssertEqual(delegation.records(.ns).count, 2)
        // Glue only at or below the child; the provider's address is not the parent's to keep.
        XCTAssertEqual(delegation.records(.a).map(\.description), ["ns1.child.parent.\t3600\tIN\tA\t192.0.2.1"])
        XCTAssertEqual(delegation.records(.aaaa).count, 1)
        XCTAssertEqual(delegation.records(.ds), [try Record(Self.ds)])
        XCTAssertEqual(delegation.records(.key), [])
        let snapshot = try delegation.snapshot()
        XCTAssertEqual(snapshot.nameservers, [try DomainName("ns1.child.parent."), try DomainName("ns.provider.example.")])
        XCTAssertEqual(snapshot.ds.count, 1)
        XCTAssertEqual(snapshot.glue[try DomainName("ns1.child.parent.")]?.count, 2)
        XCTAssertTrue(lookup.queries.allSatisfy { !$0.recursionDesired && $0.transport == .tcp })
    }

    /// BIND serves a KEY stored at the delegation with AA.
    func testKeyAtTheDelegationIsRead() async throws {
        let key = "child.parent. 3600 IN KEY 512 3 15 Qmx1ZSBzaWcwIGtleSBmb3IgdGhlIGNoaWxkIGFwZXg="
        let lookup = ScriptedLookup(Self.parentServer("192.0.2.100", ["child.parent. KEY": .records(key, aa: true)]))
        let delegation = try await ParentDelegationReader(lookup: lookup).read(child: child(), parent: parent(), servers: [servers[0]])
        XCTAssertEqual(delegation.records(.key), [try Record(key)])
        XCTAssertEqual(try delegation.snapshot().keys.count, 1)
    }

    func testNoDelegation() async throws {
        let lookup = ScriptedLookup([
            "192.0.2.100 child.parent. NS": .nxDomain(zone: "parent.", aa: true),
            "192.0.2.100 child.parent. DS": .nxDomain(zone: "parent.", aa: true),
            "192.0.2.100 child.parent. KEY": .nxDomain(zone: "parent.", aa: true),
        ])
        let delegation = try await ParentDelegationReader(lookup: lookup).read(child: child(), parent: parent(), servers: [servers[0]])
        XCTAssertFalse(delegation.isDelegated)
        XCTAssertEqual(delegation.records, [])
    }

    func testServerWithOtherDSIsNamed() async throws {
        let lookup = ScriptedLookup(Self.parentServer("192.0.2.100"))
        lookup.set(Self.parentServer("192.0.2.101", ["child.parent. DS": .noData(zone: "parent.", aa: true)]))
        do {
            _ = try await ParentDelegationReader(lookup: lookup).read(child: child(), parent: parent(), servers: servers)
            XCTFail("servers disagreeing on the DS were accepted")
        } catch let error as ZoneReadError {
            XCTAssertEqual(error.servers.map(\.description), ["ns2.parent. at 192.0.2.101"])
            XCTAssertTrue(
                error.description.hasPrefix(
                    "cannot read the delegation of child.parent. in parent.: ns2.parent. at 192.0.2.101 serves child.parent. DS differently"), error.description
            )
        }
    }

    func testServerThatRefusesIsNamed() async throws {
        let lookup = ScriptedLookup(Self.parentServer("192.0.2.100"))
        do {
            _ = try await ParentDelegationReader(lookup: lookup).read(child: child(), parent: parent(), servers: servers)
            XCTFail("a refusing server was accepted")
        } catch let error as ZoneReadError {
            XCTAssertEqual(Set(error.problems.map(\.code)), [.failed])
            XCTAssertEqual(error.servers.map(\.description), ["ns2.parent. at 192.0.2.101"])
            XCTAssertTrue(
                error.description.contains("ns2.parent. at 192.0.2.101 answered child.parent. NS with REFUSED (is it authoritative for the zone?)"),
                error.description)
        }
    }
}
