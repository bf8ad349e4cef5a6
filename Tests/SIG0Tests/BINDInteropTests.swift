import DNSWire
import Foundation
import SIG0
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Live interop with BIND 9: keys from `dnssec-keygen -T KEY -n HOST`, UPDATEs signed by
/// `nsupdate -k` and sent to a capture listener on 127.0.0.1, verified here. Where BIND is not
/// installed these tests are skipped; the committed captures (SIG0VerifierTests) still run.
final class BINDInteropTests: XCTestCase {
    func bindTools() throws -> (keygen: String, nsupdate: String) {
        guard let keygen = Tool.find("dnssec-keygen"), let nsupdate = Tool.find("nsupdate") else {
            throw XCTSkip("BIND's dnssec-keygen and nsupdate are not installed (apt-get install bind9 bind9-dnsutils)")
        }
        return (keygen, nsupdate)
    }

    func testNsupdateSignedUpdatesVerify() throws {
        let tools = try bindTools()
        let directory = try Tool.temporaryDirectory("delegsync-bind")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (algorithm, tcp) in [("RSASHA256", false), ("ECDSAP256SHA256", false), ("ECDSAP384SHA384", true), ("ED25519", false), ("ED25519", true)] {
            var arguments = ["-q", "-T", "KEY", "-n", "HOST", "-a", algorithm]
            if algorithm == "RSASHA256" { arguments += ["-b", "2048"] }
            let made = try Tool.run(tools.keygen, arguments + ["child.parent."], directory: directory)
            XCTAssertEqual(made.status, 0, made.stderr)
            let base = "\(directory)/\(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
            let keyFile = try BINDKeyFile.load(path: base + ".key")
            XCTAssertEqual(keyFile.keyData.flags, 512)

            let listener = try CaptureListener(tcp: tcp)
            let script = """
                server 127.0.0.1 \(listener.port)
                zone parent.
                update delete child.parent. NS
                update add child.parent. 3600 NS ns1.child.parent.
                update add ns1.child.parent. 3600 A 192.0.2.1
                update add ns1.child.parent. 3600 AAAA 2001:db8::1
                send

                """
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tools.nsupdate)
            process.arguments = (tcp ? ["-v"] : []) + ["-t", "5", "-k", base + ".private"]
            let input = Pipe()
            process.standardInput = input
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            input.fileHandleForWriting.write(Data(script.utf8))
            try input.fileHandleForWriting.close()
            let captured = try listener.receiveOne()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "nsupdate \(algorithm)")

            let now = UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
            let verified = try SIG0Verifier().verify(
                message: captured, key: SIG0PublicKey(keyFile.keyData), expectedSigner: DomainName("child.parent."), now: now)
            XCTAssertEqual(verified.keyTag, keyFile.keyTag)
            XCTAssertEqual(verified.algorithm, SIG0Algorithm(mnemonic: algorithm))
            XCTAssertEqual(verified.expiration &- verified.inception, 600)
            // ldns reads what nsupdate wrote, and re-encodes it to the same bytes.
            let message = try Message(wire: captured)
            XCTAssertEqual(message.updates.count, 4)
            XCTAssertEqual(try message.wireFormat(), captured)
        }
    }
}

/// A one-shot DNS listener on 127.0.0.1: takes the first message (UDP datagram, or the first
/// length-prefixed TCP message), answers NOERROR with the same ID, and returns what it got.
final class CaptureListener {
    let socket: Int32
    let port: UInt16
    let tcp: Bool

    init(tcp: Bool) throws {
        self.tcp = tcp
        let socket = Glibc.socket(AF_INET, Int32(tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
        self.socket = socket
        guard socket >= 0 else { throw SIG0KeyError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        guard bound == 0 else { throw SIG0KeyError("bind: \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        if tcp { listen(socket, 1) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(socket) }

    func reply(to request: [UInt8]) -> [UInt8] {
        var response = Array(request.prefix(12))
        response[2] = 0x80 | (response[2] & 0x78)  // QR, same opcode
        response[3] = 0
        for i in 4..<12 { response[i] = 0 }
        return response
    }

    func receiveOne() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65535)
        if !tcp {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &peerLength) }
            }
            guard count > 0 else { throw SIG0KeyError("no UDP message within 15 s") }
            let request = Array(buffer.prefix(count))
            let response = reply(to: request)
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, response, response.count, 0, $0, peerLength) }
            }
            return request
        }
        let connection = accept(socket, nil, nil)
        guard connection >= 0 else { throw SIG0KeyError("no TCP connection within 15 s") }
        defer { close(connection) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func read(_ count: Int) throws -> [UInt8] {
            var out: [UInt8] = []
            while out.count < count {
                let n = recv(connection, &buffer, count - out.count, 0)
                guard n > 0 else { throw SIG0KeyError("TCP stream ended") }
                out += buffer.prefix(n)
            }
            return out
        }
        let prefix = try read(2)
        let request = try read(Int(prefix[0]) << 8 | Int(prefix[1]))
        let response = reply(to: request)
        let framed = [UInt8(response.count >> 8), UInt8(response.count & 0xFF)] + response
        _ = send(connection, framed, framed.count, Int32(MSG_NOSIGNAL))
        return request
    }
}
