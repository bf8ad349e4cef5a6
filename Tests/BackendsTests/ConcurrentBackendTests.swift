import Backends
import DNSWire
import Foundation
import TestSupport
import Transport
import XCTest

/// Issue 11, point 4: twenty children commit at the same moment through one backend; afterwards
/// the served zone holds every change. On the old code the NSD backend (one fragment per zone,
/// fixed temporary file names, no lock across children) lost changes or failed outright.
final class ConcurrentBackendTests: XCTestCase {
    static let children = (1...20).map { String(format: "c%02d", $0) }

    /// The parent zone with twenty delegations, each to `ns1.<child>` with one A glue.
    static var delegations: String {
        children.enumerated().map { index, label in
            "\(label).parent.\t3600\tIN\tNS\tns1.\(label).parent.\nns1.\(label).parent.\t3600\tIN\tA\t192.0.2.\(index + 1)\n"
        }.joined()
    }

    static func ds(_ index: Int) -> String {
        String(format: "%05d 13 2 %064X", 10000 + index, index + 1)
    }

    /// Child `index` moves to ns1+ns2 with new A and AAAA glue and gets a DS.
    static func update(_ index: Int) -> Update {
        let label = children[index]
        let n = index + 1
        var update = Update(zone: Lab.zone)
        update.deleteRRset(try! DomainName("\(label).parent."), .ns)
        update.add(Lab.record("\(label).parent. 3600 IN NS ns1.\(label).parent."))
        update.add(Lab.record("\(label).parent. 3600 IN NS ns2.\(label).parent."))
        update.delete(Lab.record("ns1.\(label).parent. 0 IN A 192.0.2.\(n)"))
        update.add(Lab.record("ns1.\(label).parent. 3600 IN A 198.51.100.\(n)"))
        update.add(Lab.record("ns1.\(label).parent. 3600 IN AAAA 2001:db8::\(n)"))
        update.add(Lab.record("ns2.\(label).parent. 3600 IN A 203.0.113.\(n)"))
        update.add(Lab.record("\(label).parent. 3600 IN DS \(ds(index))"))
        return update
    }

    static func expected(_ index: Int) -> (ns: Set<String>, glue: Set<String>, ds: Set<String>) {
        let label = children[index]
        let n = index + 1
        return (
            ns: ["\(label).parent. ns ns1.\(label).parent.", "\(label).parent. ns ns2.\(label).parent."],
            glue: ["ns1.\(label).parent. a 198.51.100.\(n)", "ns1.\(label).parent. aaaa 2001:db8::\(n)", "ns2.\(label).parent. a 203.0.113.\(n)"],
            ds: [Lab.key(Lab.record("\(label).parent. 3600 IN DS \(ds(index))"))]
        )
    }

    /// Applies the twenty updates at once, child `i` through `backends[i % backends.count]`;
    /// returns the failures.
    static func applyAll(through backends: [any DelegationBackend]) async -> [String] {
        await withTaskGroup(of: String?.self) { group in
            for index in children.indices {
                group.addTask {
                    do {
                        try await backends[index % backends.count].apply(update(index))
                        return nil
                    } catch {
                        return "\(children[index]): \(error)"
                    }
                }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
    }

    /// Applies the twenty updates at once through `backend`, then checks every child as served.
    func runConcurrently(_ backend: any DelegationBackend, on server: LabServer, file: StaticString = #filePath, line: UInt = #line) async throws {
        let before = try Lab.served(server, child: "c01.parent.")
        XCTAssertEqual(before.ns, ["c01.parent. ns ns1.c01.parent."], file: file, line: line)
        let clock = ContinuousClock()
        let started = clock.now
        let failures = await Self.applyAll(through: [backend])
        let elapsed = clock.now - started
        XCTAssertEqual(failures, [], "\(backend.description): \(failures.count) of 20 commits failed", file: file, line: line)
        for index in Self.children.indices {
            let label = Self.children[index]
            let served = try Lab.served(server, child: "\(label).parent.")
            let want = Self.expected(index)
            XCTAssertEqual(served.ns, want.ns, "\(label) NS via \(backend.description)", file: file, line: line)
            XCTAssertEqual(served.glue, want.glue, "\(label) glue via \(backend.description)", file: file, line: line)
            XCTAssertEqual(served.ds, want.ds, "\(label) DS via \(backend.description)", file: file, line: line)
            XCTAssertGreaterThan(served.serial, before.serial, file: file, line: line)
        }
        print("concurrent battery \(backend.description): 20 commits in \(elapsed)")
    }

    func testNSDConcurrentCommits() async throws {
        try Lab.skipUnlessAvailable(.nsd)
        let server = try LabServer.nsd(
            zone: "parent.", zoneFileText: Lab.nsdZoneText, address: "127.0.0.113", port: 15313, files: [Lab.fragmentName: Self.delegations])
        defer { server.stop() }
        let backend = NSDBackend(
            zone: Lab.zone, zoneFile: server.zoneFile, fragmentFile: "\(server.directory)/\(Lab.fragmentName)", controlConfig: server.configFile,
            server: server.address, port: server.port)
        try await runConcurrently(backend, on: server)

        // The fragment parses and holds exactly the twenty new delegations.
        let text = try String(contentsOfFile: backend.fragmentFile, encoding: .utf8)
        let fragment = try ZoneFragment(zone: Lab.zone, text: text)
        let expected = ZoneFragment(
            zone: Lab.zone,
            records: Self.children.indices.flatMap { index in
                Self.update(index).operations.compactMap { operation -> Record? in
                    guard case .add(let record) = operation else { return nil }
                    return record
                }
            })
        XCTAssertEqual(fragment.records, expected.records, text)
        // Only the serial of the operator's zone file changed, and no temporary file is left.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: server.directory).filter { $0.contains("delegsync") }
        XCTAssertEqual(leftovers, [])
        let served = try Lab.served(server, child: "c01.parent.").serial
        let zoneBefore = Lab.nsdZoneText.replacingOccurrences(of: LabServer.directoryPlaceholder, with: server.directory)
        XCTAssertEqual(try String(contentsOfFile: server.zoneFile, encoding: .utf8), zoneBefore.replacingOccurrences(of: "\(Lab.serial)", with: "\(served)"))
    }

    /// Two NSD backend values for the same files (the fragment path spelt differently) still
    /// write one at a time: the lock belongs to the zone file, not to the value.
    func testNSDConcurrentCommitsThroughTwoBackendValues() async throws {
        try Lab.skipUnlessAvailable(.nsd)
        let server = try LabServer.nsd(
            zone: "parent.", zoneFileText: Lab.nsdZoneText, address: "127.0.0.114", port: 15314, files: [Lab.fragmentName: Self.delegations])
        defer { server.stop() }
        let backends = (0..<2).map { _ in
            NSDBackend(
                zone: Lab.zone, zoneFile: server.zoneFile, fragmentFile: "\(server.directory)/./\(Lab.fragmentName)", controlConfig: server.configFile,
                server: server.address, port: server.port)
        }
        let failures = await Self.applyAll(through: backends)
        XCTAssertEqual(failures, [])
        for index in Self.children.indices {
            XCTAssertEqual(try Lab.served(server, child: "\(Self.children[index]).parent.").ns, Self.expected(index).ns, Self.children[index])
        }
    }

    func testRFC2136OnBINDConcurrentCommits() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let server = try LabServer.bind(zone: "parent.", zoneFileText: Lab.apex + Self.delegations, address: "127.0.0.115", port: 15315)
        defer { server.stop() }
        let key = try TSIGKey(bindKeyFile: String(contentsOfFile: server.tsigKeyFile!, encoding: .utf8))
        try await runConcurrently(RFC2136Backend(server: server.address, port: server.port, key: key, client: DNSClient(timeout: .seconds(5))), on: server)
    }

    func testRFC2136OnKnotConcurrentCommits() async throws {
        try Lab.skipUnlessAvailable(.knot)
        let server = try LabServer.knot(zone: "parent.", zoneFileText: Lab.apex + Self.delegations, address: "127.0.0.116", port: 15316)
        defer { server.stop() }
        let key = try TSIGKey(string: "hmac-sha256:\(server.tsigKeyName!):\(server.tsigSecret!)")
        try await runConcurrently(RFC2136Backend(server: server.address, port: server.port, key: key, client: DNSClient(timeout: .seconds(5))), on: server)
    }

    func testNSUpdateOnBINDConcurrentCommits() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let server = try LabServer.bind(zone: "parent.", zoneFileText: Lab.apex + Self.delegations, address: "127.0.0.117", port: 15317)
        defer { server.stop() }
        let backend = NSUpdateBackend(command: ["nsupdate", "-t", "5", "-k", server.tsigKeyFile!], server: server.address, port: server.port)
        try await runConcurrently(backend, on: server)
    }

    func testKNSUpdateOnKnotConcurrentCommits() async throws {
        try Lab.skipUnlessAvailable(.knot)
        let server = try LabServer.knot(zone: "parent.", zoneFileText: Lab.apex + Self.delegations, address: "127.0.0.118", port: 15318)
        defer { server.stop() }
        let backend = NSUpdateBackend(
            command: ["knsupdate", "-t", "5", "-y", "hmac-sha256:\(server.tsigKeyName!):\(server.tsigSecret!)"], server: server.address, port: server.port)
        try await runConcurrently(backend, on: server)
    }
}
