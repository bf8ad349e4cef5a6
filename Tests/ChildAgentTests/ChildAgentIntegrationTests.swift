import ChildAgent
import DNSWire
import SIG0
import TestSupport
import Transport
import XCTest

/// The child side's readers against real BIND instances on loopback, port 53:
///
/// - 127.0.0.170: `parent.`, with `*._dsync.parent.` DSYNC ANY UPDATE 5302 updater.parent. (in
///   the RFC 3597 form every server accepts), the delegation of `child.parent.` and a large TXT
///   RRset. It also stands in for the resolver: with recursion off, named still answers RD=1
///   queries for its own zone, which is all discovery and the out-of-bailiwick NS name need.
/// - 127.0.0.171 (`ns1.child.parent.`) and 127.0.0.172 (`ns.outside.parent.`): `child.parent.`.
/// - 127.0.0.173: `child.parent.` with another CDS, to be named as the odd server.
/// - 127.0.0.178: nothing listens there.
final class ChildAgentIntegrationTests: XCTestCase {
    static let parentAddress = "127.0.0.170"
    static let cds = "child.parent. 300 IN CDS 2371 15 2 2BB183AF5F22588179A53B0A98631FAD1A292118F1A6C9A5C1E5E1D2E6A1A4C3"
    static let ds = "child.parent. 300 IN DS 2371 15 2 2BB183AF5F22588179A53B0A98631FAD1A292118F1A6C9A5C1E5E1D2E6A1A4C3"
    static let otherCDS = "child.parent. 300 IN CDS 4711 15 2 0000000000000000000000000000000000000000000000000000000000000001"

    static func parentZone() throws -> String {
        let dsync = Record(
            name: try DomainName("*._dsync.parent."), type: .dsync, ttl: 300,
            rdata: DSYNCData(rrType: .any, scheme: .update, port: 5302, target: try DomainName("updater.parent.")).rdata)
        let text = String(repeating: "x", count: 200)
        return """
            $ORIGIN parent.
            $TTL 300
            @           IN SOA ns1.parent. hostmaster.parent. 1 3600 900 604800 300
            @           IN NS   ns1.parent.
            ns1         IN A    \(parentAddress)
            updater     IN A    127.0.0.179
            updater     IN AAAA 2001:db8::179
            \(dsync.genericPresentation)
            child       IN NS   ns1.child.parent.
            child       IN NS   ns.outside.parent.
            ns1.child   IN A    127.0.0.171
            ns.outside  IN A    127.0.0.172
            \(ds)
            \((1...8).map { "big IN TXT \"\($0)\(text)\"" }.joined(separator: "\n"))

            """
    }

    static func childZone(dnskey: Record, key: Record, cds: String) -> String {
        """
        $TTL 300
        child.parent.       IN SOA ns1.child.parent. hostmaster.child.parent. 1 3600 900 604800 300
        child.parent.       IN NS  ns1.child.parent.
        child.parent.       IN NS  ns.outside.parent.
        ns1.child.parent.   IN A   127.0.0.171
        \(dnskey)
        \(cds)
        \(key)

        """
    }

    func testDiscoveryAndReadersAgainstBIND() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let child = try DomainName("child.parent.")
        let parentName = try DomainName("parent.")
        let key = try BINDKeyFile.generate(owner: child, ttl: 300).record
        let keyData = try KEYData(rdata: key.rdata)
        let dnskey = Record(
            name: child, type: .dnskey, ttl: 300, rdata: KEYData(flags: 257, algorithm: keyData.algorithm, publicKey: keyData.publicKey).rdata)

        var servers: [LabServer] = []
        defer { servers.forEach { $0.stop() } }
        servers.append(try LabServer.bind(zone: "parent.", zoneFileText: Self.parentZone(), address: Self.parentAddress, port: 53, tsigKeyName: nil))
        for (address, cds) in [("127.0.0.171", Self.cds), ("127.0.0.172", Self.cds), ("127.0.0.173", Self.otherCDS)] {
            servers.append(
                try LabServer.bind(
                    zone: "child.parent.", zoneFileText: Self.childZone(dnskey: dnskey, key: key, cds: cds), address: address, port: 53, tsigKeyName: nil))
        }
        let lookup = DNSClientLookup(timeout: .seconds(3))
        let resolver = NameserverAddress(Self.parentAddress)

        // DSYNC discovery: the wildcard answers the first name for child.parent. …
        let discovery = DSYNCDiscovery(lookup: lookup, resolver: resolver)
        let target = try await discovery.discover(child: child)
        XCTAssertEqual(target.parent, parentName)
        XCTAssertEqual(target.owner, try DomainName("child._dsync.parent."))
        XCTAssertEqual(target.target, try DomainName("updater.parent."))
        XCTAssertEqual(target.port, 5302)
        XCTAssertEqual(target.addresses, ["127.0.0.179", "2001:db8::179"])
        // … and, for a child two labels down, the second one after the SOA named the parent.
        let deep = try await discovery.discover(child: DomainName("a.b.parent."))
        XCTAssertEqual(deep.parent, parentName)
        XCTAssertEqual(deep.owner, try DomainName("a.b._dsync.parent."))
        XCTAssertEqual(deep.steps.first?.description, "a._dsync.b.parent. DSYNC: NXDOMAIN (zone parent.)")

        // The child's apex from every server the primary's NS set names.
        let reader = ChildApexReader(lookup: lookup, resolver: resolver)
        let apex = try await reader.read(child: child, primary: NameserverAddress("127.0.0.171"))
        // NS names in canonical order (RFC 4034 §6.1): child < outside.
        XCTAssertEqual(apex.servers.map(\.description), ["ns1.child.parent. at 127.0.0.171", "ns.outside.parent. at 127.0.0.172"])
        XCTAssertEqual(Set(apex.ns.map(\.rdataPresentation)), ["ns1.child.parent.", "ns.outside.parent."])
        XCTAssertEqual(apex.glue.map(\.description), ["ns1.child.parent.\t300\tIN\tA\t127.0.0.171"])
        XCTAssertEqual(apex.dnskey.map(\.rdata), [dnskey.rdata])
        XCTAssertEqual(apex.cds, [try Record(Self.cds)])
        XCTAssertEqual(apex.key.map(\.rdata), [key.rdata])
        XCTAssertEqual(apex.cdnskey, [])

        // Configured servers: one with another CDS, one where nothing listens. Both are named.
        let configured = ["127.0.0.171", "127.0.0.173", "127.0.0.178"].map { AuthoritativeServer(address: NameserverAddress($0)) }
        do {
            _ = try await reader.read(child: child, servers: configured)
            XCTFail("servers that disagree were accepted")
        } catch let error as ZoneReadError {
            XCTAssertEqual(error.servers.map(\.description), ["127.0.0.173", "127.0.0.178"], error.description)
            XCTAssertEqual(error.problems.map(\.code), [.differs, .unreachable], error.description)
            XCTAssertTrue(error.description.contains("127.0.0.173 serves child.parent. CDS differently from 127.0.0.171"), error.description)
        }

        // The parent's view of the delegation, from its servers as the resolver lists them.
        let parentServers = try await ZoneNameservers(lookup: lookup, resolver: resolver).servers(of: parentName)
        XCTAssertEqual(parentServers.map(\.description), ["ns1.parent. at 127.0.0.170"])
        let delegation = try await ParentDelegationReader(lookup: lookup).read(child: child, parent: parentName, servers: parentServers)
        let snapshot = try delegation.snapshot()
        XCTAssertEqual(snapshot.nameservers, [try DomainName("ns1.child.parent."), try DomainName("ns.outside.parent.")])
        XCTAssertEqual(snapshot.glue.keys.map(\.description), ["ns1.child.parent."])
        XCTAssertEqual(delegation.records(.ds).map(\.rdata), [try Record(Self.ds).rdata])
        XCTAssertEqual(delegation.records(.key), [])

        // A truncated UDP answer is asked again over TCP.
        let big = try DomainName("big.parent.")
        var header = Header()
        header.id = 4711
        let query = try Message(header: header, question: [Question(name: big, type: .txt)], edns: EDNS()).wireFormat()
        let overUDP = try Message(wire: await DNSClient().exchange(query, host: Self.parentAddress, port: 53, transport: .udp))
        XCTAssertTrue(overUDP.header.tc, "the TXT RRset should not fit 1232 octets")
        let answer = try await lookup.query(big, .txt, server: resolver, recursionDesired: false, transport: .udpThenTCP)
        XCTAssertFalse(answer.header.tc)
        XCTAssertEqual(answer.answer.filter { $0.type == .txt }.count, 8)
    }
}
