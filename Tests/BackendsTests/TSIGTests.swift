@testable import DNSWire
import Foundation
import TestSupport
import Transport
import XCTest

/// TSIG (RFC 8945) against ldns's own signer and against real servers.
final class TSIGTests: XCTestCase {
    func testParsesTSIGKeygenOutput() throws {
        guard let keygen = Tool.find("tsig-keygen") else { throw XCTSkip("tsig-keygen is not installed") }
        let output = try Tool.run(keygen, ["-a", "hmac-sha256", "update-key.example"]).stdout
        let key = try TSIGKey(bindKeyFile: output)
        XCTAssertEqual(key.name, try DomainName("update-key.example."))
        XCTAssertEqual(key.algorithm, "hmac-sha256.")
        XCTAssertEqual(key.secret.count, 32)
        XCTAssertTrue(output.contains(key.base64Secret))
        XCTAssertEqual(try TSIGKey(bindKeyFile: key.bindKeyFile), key)
    }

    func testParsesKeyStrings() throws {
        let secret = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let short = try TSIGKey(string: "name.example:\(secret)")
        XCTAssertEqual(short.algorithm, "hmac-sha256.")
        XCTAssertEqual(short.secret, (0..<32).map { UInt8($0) })
        let long = try TSIGKey(string: "hmac-sha512:name.example.:\(secret)")
        XCTAssertEqual(long.algorithm, "hmac-sha512.")
        XCTAssertEqual(long.name, short.name)
        XCTAssertEqual(long.yArgument, "hmac-sha512:name.example.:\(secret)")
        XCTAssertThrowsError(try TSIGKey(string: "hmac-md5:name:\(secret)"))
        XCTAssertThrowsError(try TSIGKey(string: "just-a-name"))
        XCTAssertThrowsError(try TSIGKey(bindKeyFile: "key \"x\" { algorithm hmac-sha256; };"))
    }

    /// Our signer (time as a parameter) gives the bytes ldns_pkt_tsig_sign gives at its own time.
    func testSignerMatchesLDNS() throws {
        for algorithm in ["hmac-sha1", "hmac-sha256", "hmac-sha512"] {
            // A secret longer than the block size exercises the hashed-key branch of RFC 2104.
            for length in [16, 32, 200] {
                let key = try TSIGKey(name: DomainName("Key.Example."), algorithm: algorithm, secret: (0..<length).map { UInt8(truncatingIfNeeded: $0 * 7) })
                var query = Message(question: [Question(name: try DomainName("parent."), type: .soa)])
                query.id = 0x1234
                let unsigned = try query.wireFormat()
                let byLDNS: [UInt8]
                do {
                    byLDNS = try LDNS.tsigSignedNow(unsigned, key: key, fudge: 300)
                } catch {
                    XCTFail("ldns cannot sign with \(algorithm): \(error)")
                    continue
                }
                let time = try XCTUnwrap(try tsigRecordData(of: byLDNS)).timeSigned
                let ours = try tsigSigned(unsigned, key: key, time: time)
                XCTAssertEqual(ours, byLDNS, "\(algorithm), \(length)-octet secret")
            }
        }
    }

    /// named and knotd accept our signature, sign their answer, and ldns verifies it; a wrong
    /// secret gets NOTAUTH with TSIG error BADSIG, and a skewed clock BADTIME.
    func testSignedQueriesToRealServers() async throws {
        try Lab.skipUnlessAvailable(.bind)
        try Lab.skipUnlessAvailable(.knot)
        let bind = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.111", port: 15311)
        defer { bind.stop() }
        let knot = try LabServer.knot(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.112", port: 15312)
        defer { knot.stop() }
        let client = DNSClient(timeout: .seconds(3))
        let now = UInt64(Date().timeIntervalSince1970)
        for server in [bind, knot] {
            let key = try TSIGKey(string: "\(server.tsigKeyName!):\(server.tsigSecret!)")
            var query = Message(question: [Question(name: try DomainName("parent."), type: .soa)])
            query.id = UInt16.random(in: 0...UInt16.max)
            let request = try tsigSigned(query.wireFormat(), key: key, time: now)
            for transport in [DNSTransportKind.udp, .tcp] {
                let response = try await client.exchange(request, host: server.address, port: server.port, transport: transport)
                XCTAssertEqual(try Message(wire: response).rcode, .noError, "\(server.kind) \(transport)")
                XCTAssertNoThrow(try tsigVerifyResponse(response, request: request, key: key, time: now), "\(server.kind) \(transport)")
                var tampered = response
                tampered[tampered.count - 30] ^= 0x01
                XCTAssertThrowsError(try tsigVerifyResponse(tampered, request: request, key: key, time: now))
                XCTAssertThrowsError(try tsigVerifyResponse(response, request: request, key: key, time: now + 1000), "outside the fudge")
            }

            let wrong = try TSIGKey(name: key.name, secret: [UInt8](repeating: 1, count: 32))
            let badSig = try await client.exchange(
                tsigSigned(query.wireFormat(), key: wrong, time: now), host: server.address, port: server.port, transport: .tcp)
            XCTAssertEqual(try Message(wire: badSig).rcode, .notAuth, "\(server.kind)")
            XCTAssertEqual(try tsigRecordData(of: badSig)?.error, .badSig, "\(server.kind)")

            let skewed = try await client.exchange(
                tsigSigned(query.wireFormat(), key: key, time: now - 3600), host: server.address, port: server.port, transport: .tcp)
            XCTAssertEqual(try Message(wire: skewed).rcode, .notAuth, "\(server.kind)")
            XCTAssertEqual(try tsigRecordData(of: skewed)?.error, .badTime, "\(server.kind)")
        }
    }

    /// A server that does not answer: the error names it, and comes after the timeout, not never.
    func testClientTimeoutNamesTheServer() async throws {
        let client = DNSClient(timeout: .milliseconds(500))
        let query = try Message(question: [Question(name: try DomainName("parent."), type: .soa)]).wireFormat()
        // A UDP socket that never answers.
        let silent = try SilentUDPPort()
        defer { silent.close() }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            _ = try await client.exchange(query, host: "127.0.0.1", port: silent.port, transport: .udp)
            XCTFail("answered")
        } catch let error as DNSClientError {
            XCTAssertEqual(error.code, .timeout)
            XCTAssertTrue(error.description.contains("127.0.0.1:\(silent.port)"), error.description)
        }
        XCTAssertLessThan(clock.now - started, .seconds(3))
    }
}

/// A bound UDP socket that reads nothing and answers nothing.
final class SilentUDPPort {
    let socket: Int32
    let port: Int

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.socket = socket
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        guard bound == 0 else { throw ToolError("bind: \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(socket) }
}
