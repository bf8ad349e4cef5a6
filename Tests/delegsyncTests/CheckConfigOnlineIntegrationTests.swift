import Foundation
import TestSupport
import XCTest

/// `delegsync check-config --online` (issue 12): every primary answers SOA for its zone, and a
/// configured TSIG key is accepted — a signed SOA query whose answer's TSIG verifies — checked
/// against a real BIND. Addresses 127.0.0.64–65; run under the lab lock.
final class CheckConfigOnlineIntegrationTests: CommandLineTestCase {
    func write(_ text: String, _ name: String) throws -> String {
        let file = "\(directory)/\(name)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func parent(zone: String = "parent.", primary: String = "127.0.0.64 port 15364", keyFile: String) throws -> String {
        let address = primary.split(separator: " ")
        return try write(
            """
            version: 1
            store: { path: \(directory)/state.sqlite }
            zones:
              - name: \(zone)
                primary: { address: \(address[0]), port: \(address[2]) }
                backend: { type: rfc2136, tsig-key-file: \(keyFile) }

            """, "parent-\(UUID().uuidString).yaml")
    }

    func testPrimariesAnswerAndTheTSIGKeyIsAccepted() throws {
        try Lab.skipUnlessAvailable(.bind)
        let bind = try LabServer.bind(zone: "parent.", zoneFileText: Lab.zoneText, address: "127.0.0.64", port: 15364)
        defer { bind.stop() }
        let keyFile = try XCTUnwrap(bind.tsigKeyFile)

        let good = try parent(keyFile: keyFile)
        let online = try delegsync("check-config", "--config", good, "--online")
        XCTAssertEqual(online.status, 0, online.stderr)
        XCTAssertTrue(online.stdout.contains("zones[0].primary: 127.0.0.64 port 15364: SOA serial \(Lab.serial)\n"), online.stdout)
        XCTAssertTrue(
            online.stdout.contains("zones[0].backend: 127.0.0.64 port 15364: SOA serial \(Lab.serial), TSIG key tsig-key. accepted\n"), online.stdout)
        // Without --online nothing is asked: the same file passes with the primary gone too.
        XCTAssertFalse(try delegsync("check-config", "--config", good).stdout.contains("SOA"))

        // The same key name with another secret: BIND refuses it (BADSIG).
        let forged = try write("key \"tsig-key.\" {\n\talgorithm hmac-sha256;\n\tsecret \"\(Data(repeating: 7, count: 32).base64EncodedString())\";\n};\n", "forged.key")
        let wrongSecret = try parent(keyFile: forged)
        assertUsageError(try delegsync("check-config", "--config", wrongSecret, "--online"), mentioning: "\(wrongSecret):6: zones[0].backend: 127.0.0.64 port 15364 answered NOTAUTH, TSIG error BADSIG")
        // A key BIND does not know at all (BADKEY).
        let unknown = try write("key \"other-key.\" {\n\talgorithm hmac-sha256;\n\tsecret \"\(Data(repeating: 7, count: 32).base64EncodedString())\";\n};\n", "unknown.key")
        assertUsageError(try delegsync("check-config", "--config", try parent(keyFile: unknown), "--online"), mentioning: "TSIG error BADKEY")
        // A zone the primary does not serve.
        assertUsageError(
            try delegsync("check-config", "--config", try parent(zone: "other.", keyFile: keyFile), "--online"),
            mentioning: "zones[0].primary: 127.0.0.64 port 15364 answered REFUSED to SOA other.")
        // A primary that does not answer.
        assertUsageError(
            try delegsync("check-config", "--config", try parent(primary: "127.0.0.65 port 15365", keyFile: keyFile), "--online"),
            mentioning: "zones[0].primary: 127.0.0.65 port 15365 does not answer")

        // The child agent's file: its primary, signed with the publish key.
        let child = try write(
            """
            version: 1
            store: { path: \(directory)/child.sqlite }
            key-directory: \(directory)/keys
            children:
              - name: parent.
                primary: { address: 127.0.0.64, port: 15364 }
                publish: { type: rfc2136, tsig-key-file: \(keyFile) }

            """, "child.yaml")
        let childOnline = try delegsync("check-config", "--config", child, "--online")
        XCTAssertEqual(childOnline.status, 0, childOnline.stderr)
        XCTAssertTrue(childOnline.stdout.contains("children[0].primary: 127.0.0.64 port 15364: SOA serial \(Lab.serial), TSIG key tsig-key. accepted"), childOnline.stdout)
    }
}
