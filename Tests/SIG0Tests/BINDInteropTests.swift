import DNSWire
import Foundation
import SIG0
import TestSupport
import XCTest

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
