import Backends
import DNSWire
import Foundation
import TestSupport
import Transport
import XCTest

/// One battery, run against every backend with a real parent (DESIGN.md layer 7): apply the
/// delegation change, read back what the server serves, apply it again and see nothing change.
final class BackendBatteryTests: XCTestCase {
    /// Applies ``Lab/update`` twice through `backend` and checks what `server` serves each time.
    func runBattery(_ backend: any DelegationBackend, on server: LabServer, file: StaticString = #filePath, line: UInt = #line) async throws {
        let before = try Lab.served(server)
        XCTAssertEqual(before.ns, ["child.parent. ns ns1.child.parent."], "initial NS", file: file, line: line)
        XCTAssertEqual(before.glue, ["ns1.child.parent. a 192.0.2.1"], "initial glue", file: file, line: line)
        XCTAssertEqual(before.ds, [], file: file, line: line)

        let clock = ContinuousClock()
        let first = try await clock.measure { try await backend.apply(Lab.update) }
        let after = try Lab.served(server)
        XCTAssertEqual(after.ns, Lab.expectedNS, "NS after \(backend.description)", file: file, line: line)
        XCTAssertEqual(after.glue, Lab.expectedGlue, "glue after \(backend.description)", file: file, line: line)
        XCTAssertEqual(after.ds, Lab.expectedDS, "DS after \(backend.description)", file: file, line: line)
        XCTAssertTrue(after.dsAuthoritative, "the parent answers DS at the delegation with AA", file: file, line: line)
        XCTAssertGreaterThan(after.serial, before.serial, "serial after \(backend.description)", file: file, line: line)

        let second = try await clock.measure { try await backend.apply(Lab.update) }
        let again = try Lab.served(server)
        XCTAssertEqual(again.ns, Lab.expectedNS, file: file, line: line)
        XCTAssertEqual(again.glue, Lab.expectedGlue, file: file, line: line)
        XCTAssertEqual(again.ds, Lab.expectedDS, file: file, line: line)
        XCTAssertGreaterThanOrEqual(again.serial, after.serial, file: file, line: line)
        print("battery \(backend.description): first apply \(first), second \(second), serial \(before.serial) → \(after.serial) → \(again.serial)")
    }

    // MARK: BIND

    func testRFC2136OnBIND() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let server = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.101", port: 15301)
        defer { server.stop() }
        let key = try TSIGKey(bindKeyFile: String(contentsOfFile: server.tsigKeyFile!, encoding: .utf8))
        let backend = RFC2136Backend(server: server.address, port: server.port, key: key, client: DNSClient(timeout: .seconds(3)))
        try await runBattery(backend, on: server)
    }

    func testNSUpdateOnBIND() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let server = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.102", port: 15302)
        defer { server.stop() }
        let backend = NSUpdateBackend(command: ["nsupdate", "-t", "3", "-k", server.tsigKeyFile!], server: server.address, port: server.port)
        try await runBattery(backend, on: server)
    }

    // MARK: Knot

    func testRFC2136OnKnot() async throws {
        try Lab.skipUnlessAvailable(.knot)
        let server = try LabServer.knot(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.103", port: 15303)
        defer { server.stop() }
        let key = try TSIGKey(string: "hmac-sha256:\(server.tsigKeyName!):\(server.tsigSecret!)")
        let backend = RFC2136Backend(server: server.address, port: server.port, key: key, client: DNSClient(timeout: .seconds(3)))
        try await runBattery(backend, on: server)
    }

    func testKNSUpdateOnKnot() async throws {
        try Lab.skipUnlessAvailable(.knot)
        let server = try LabServer.knot(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.104", port: 15304)
        defer { server.stop() }
        let backend = NSUpdateBackend(
            command: ["knsupdate", "-t", "3", "-y", "hmac-sha256:\(server.tsigKeyName!):\(server.tsigSecret!)"], server: server.address, port: server.port)
        try await runBattery(backend, on: server)
    }

    // MARK: NSD

    func nsdServer(address: String, port: Int) throws -> (LabServer, NSDBackend) {
        let server = try LabServer.nsd(
            zone: "parent.", zoneFileText: Lab.nsdZoneText, address: address, port: port, files: [Lab.fragmentName: Lab.delegation])
        let backend = NSDBackend(
            zone: Lab.zone, zoneFile: server.zoneFile, fragmentFile: "\(server.directory)/\(Lab.fragmentName)", controlConfig: server.configFile,
            server: server.address, port: server.port)
        return (server, backend)
    }

    func testNSDFragment() async throws {
        try Lab.skipUnlessAvailable(.nsd)
        let (server, backend) = try nsdServer(address: "127.0.0.105", port: 15305)
        defer { server.stop() }
        let zoneBefore = try String(contentsOfFile: server.zoneFile, encoding: .utf8)
        try await runBattery(backend, on: server)

        // Only the serial of the operator's zone file changed.
        let zoneAfter = try String(contentsOfFile: server.zoneFile, encoding: .utf8)
        let served = try Lab.served(server)
        XCTAssertEqual(zoneAfter, zoneBefore.replacingOccurrences(of: "\(Lab.serial)", with: "\(served.serial)"))
        // A third apply leaves the fragment byte for byte as it was.
        let fragment = try String(contentsOfFile: backend.fragmentFile, encoding: .utf8)
        try await backend.apply(Lab.update)
        XCTAssertEqual(try String(contentsOfFile: backend.fragmentFile, encoding: .utf8), fragment)
        XCTAssertEqual(try Lab.served(server).serial, served.serial)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: server.directory).filter { $0.contains("delegsync") }
        XCTAssertEqual(leftovers, [])
    }

    /// A change nsd-checkzone rejects (a CNAME beside the NS) changes no file.
    func testNSDRefusesWhatCheckzoneRejects() async throws {
        try Lab.skipUnlessAvailable(.nsd)
        let (server, backend) = try nsdServer(address: "127.0.0.106", port: 15306)
        defer { server.stop() }
        let zoneBefore = try String(contentsOfFile: server.zoneFile, encoding: .utf8)
        let fragmentBefore = try String(contentsOfFile: backend.fragmentFile, encoding: .utf8)
        var update = Update(zone: Lab.zone)
        update.add(Lab.record("child.parent. 3600 IN CNAME elsewhere.example."))
        do {
            try await backend.apply(update)
            XCTFail("a CNAME beside NS was applied")
        } catch let error as BackendError {
            XCTAssertTrue(error.description.contains("nsd-checkzone"), error.description)
        }
        XCTAssertEqual(try String(contentsOfFile: server.zoneFile, encoding: .utf8), zoneBefore)
        XCTAssertEqual(try String(contentsOfFile: backend.fragmentFile, encoding: .utf8), fragmentBefore)
        XCTAssertEqual(try Lab.served(server).serial, Lab.serial)
    }

    /// Issue 11, point 2, at the backend: a record whose presentation the fragment reader would
    /// not read back (an NS target `a\(b.example.net.`, which DNS allows and the policy now
    /// refuses) is refused for good with nothing changed, and the next child's commit goes
    /// through. On the old code it was written, and every later commit of the zone then failed.
    func testNSDRefusesARecordItCouldNotReadBack() async throws {
        try Lab.skipUnlessAvailable(.nsd)
        let (server, backend) = try nsdServer(address: "127.0.0.119", port: 15319)
        defer { server.stop() }
        let zoneBefore = try String(contentsOfFile: server.zoneFile, encoding: .utf8)
        let fragmentBefore = try String(contentsOfFile: backend.fragmentFile, encoding: .utf8)
        var hostile = Update(zone: Lab.zone)
        hostile.add(Record(name: try DomainName("child.parent."), type: .ns, ttl: 3600, rdata: try DomainName(#"a\(b.example.net."#).wire))
        do {
            try await backend.apply(hostile)
            XCTFail("a record the fragment reader refuses was written")
        } catch let error as BackendError {
            XCTAssertTrue(error.permanent, error.description)
            XCTAssertTrue(error.description.contains("would not read back"), error.description)
        }
        XCTAssertEqual(try String(contentsOfFile: server.zoneFile, encoding: .utf8), zoneBefore)
        XCTAssertEqual(try String(contentsOfFile: backend.fragmentFile, encoding: .utf8), fragmentBefore)
        try await backend.apply(Lab.update)
        XCTAssertEqual(try Lab.served(server).ns, Lab.expectedNS)
    }

    // MARK: Script

    func testScriptToFile() async throws {
        let directory = try Tool.temporaryDirectory("script-backend")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/changes.txt"
        let backend = ScriptBackend(command: nil, outputPath: path)
        try await backend.apply(Lab.update)
        try await backend.apply(Lab.update)
        let expected = """
            zone parent.
            update delete child.parent. IN NS
            update add child.parent. 3600 IN NS ns1.child.parent.
            update add child.parent. 3600 IN NS ns2.child.parent.
            update delete ns1.child.parent. IN A 192.0.2.1
            update add ns1.child.parent. 3600 IN A 192.0.2.11
            update add ns1.child.parent. 3600 IN AAAA 2001:db8::11
            update add ns2.child.parent. 3600 IN A 192.0.2.12
            update add ns2.child.parent. 3600 IN AAAA 2001:db8::12
            update add child.parent. 3600 IN DS 12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118f1a6c9a5c1e5e1d2e6a1a4c3
            send

            """
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), expected + expected)
    }

    func testScriptCommand() async throws {
        let directory = try Tool.temporaryDirectory("script-backend")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/piped.txt"
        try await ScriptBackend(command: ["/bin/sh", "-c", "cat > '\(path)'"], outputPath: nil).apply(Lab.update)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), NSUpdateScript(update: Lab.update).text)
        do {
            try await ScriptBackend(command: ["/bin/sh", "-c", "cat >/dev/null; echo zone is frozen >&2; exit 3"], outputPath: nil).apply(Lab.update)
            XCTFail("exit status 3 counted as applied")
        } catch let error as BackendError {
            XCTAssertTrue(error.description.contains("exit status 3") && error.description.contains("zone is frozen"), error.description)
        }
    }

    // MARK: A stopped primary

    /// Every backend fails with a BackendError, within its timeout, when the primary is down.
    func testStoppedServersThrow() async throws {
        try Lab.skipUnlessAvailable(.bind)
        try Lab.skipUnlessAvailable(.knot)
        try Lab.skipUnlessAvailable(.nsd)
        let bind = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.107", port: 15307)
        let knot = try LabServer.knot(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.108", port: 15308)
        let (nsd, nsdBackend) = try nsdServer(address: "127.0.0.109", port: 15309)
        defer {
            bind.stop()
            knot.stop()
            nsd.stop()
        }
        let bindKey = try TSIGKey(bindKeyFile: String(contentsOfFile: bind.tsigKeyFile!, encoding: .utf8))
        let knotY = "hmac-sha256:\(knot.tsigKeyName!):\(knot.tsigSecret!)"
        let nsdZone = try String(contentsOfFile: nsd.zoneFile, encoding: .utf8)
        let nsdFragment = try String(contentsOfFile: nsdBackend.fragmentFile, encoding: .utf8)
        let backends: [any DelegationBackend] = [
            RFC2136Backend(server: bind.address, port: bind.port, key: bindKey, client: DNSClient(timeout: .seconds(2))),
            NSUpdateBackend(command: ["nsupdate", "-t", "2", "-k", bind.tsigKeyFile!], server: bind.address, port: bind.port, timeLimit: 10),
            RFC2136Backend(server: knot.address, port: knot.port, key: try TSIGKey(string: knotY), client: DNSClient(timeout: .seconds(2))),
            NSUpdateBackend(command: ["knsupdate", "-t", "2", "-y", knotY], server: knot.address, port: knot.port, timeLimit: 10),
            nsdBackend,
        ]
        bind.stopDaemon()
        knot.stopDaemon()
        nsd.stopDaemon()

        let clock = ContinuousClock()
        for backend in backends {
            let started = clock.now
            do {
                try await backend.apply(Lab.update)
                XCTFail("\(backend.description) applied to a stopped server")
            } catch let error as BackendError {
                print("stopped primary, \(backend.description): \(error) after \(clock.now - started)")
            }
            XCTAssertLessThan(clock.now - started, .seconds(15), "\(backend.description) took too long")
        }
        XCTAssertEqual(try String(contentsOfFile: nsd.zoneFile, encoding: .utf8), nsdZone, "NSD zone file restored")
        XCTAssertEqual(try String(contentsOfFile: nsdBackend.fragmentFile, encoding: .utf8), nsdFragment, "NSD fragment restored")
        XCTAssertEqual(LabServerRegistry.running, [])
    }

    /// A wrong TSIG secret: the primary answers NOTAUTH and the error says so.
    func testRFC2136WrongKey() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let server = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.110", port: 15310)
        defer { server.stop() }
        let key = try TSIGKey(name: DomainName(server.tsigKeyName!), secret: [UInt8](repeating: 7, count: 32))
        do {
            try await RFC2136Backend(server: server.address, port: server.port, key: key).apply(Lab.update)
            XCTFail("a wrong key was accepted")
        } catch let error as BackendError {
            XCTAssertTrue(error.description.contains("NOTAUTH"), error.description)
        }
        XCTAssertEqual(try Lab.served(server).ns, ["child.parent. ns ns1.child.parent."])
    }
}
