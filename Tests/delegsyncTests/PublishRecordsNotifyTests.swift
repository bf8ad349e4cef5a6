import Foundation
import XCTest

extension KeysCommandTests {
    /// A configuration for publish-records: listening on 192.0.2.80 port 5302, the receiver's key
    /// `identity` (a key file base), zone `parent.` with `zone` added to it.
    func publishConfig(identity: String, name: String, zone: String = "") throws -> String {
        let config = "\(directory)/\(name).yaml"
        try """
        version: 1
        listen: [{ address: 192.0.2.80, port: 5302 }]
        identity: { key-file: \(identity).private }
        store: { path: \(directory)/state.sqlite }
        zones:
          - name: parent.
            primary: { address: 127.0.0.1 }
            backend: { type: script, output: "-" }
            \(zone)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// With the scanner on, publish-records adds DSYNC records of the NOTIFY scheme (1) for CDS
    /// and CSYNC at the same target and port (RFC 9859 §2.1); with it off, none.
    func testPublishRecordsWithTheScanner() throws {
        let made = try delegsync("keygen", "agent.parent.", "--directory", directory)
        let base = "\(directory)/\(made.stdout.split(separator: "\n")[0])"
        func records(scanner: Bool) throws -> [String] {
            let config = try publishConfig(identity: base, name: "publish-\(scanner)", zone: "scanner: { enabled: \(scanner) }")
            let result = try delegsync("publish-records", "--config", config, "parent.")
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout.split(separator: "\n").map(String.init)
        }
        let cds = "update add *._dsync.parent. 3600 IN TYPE66 \\# 19 003B0114B6056167656E7406706172656E7400"
        let csync = "update add *._dsync.parent. 3600 IN TYPE66 \\# 19 003E0114B6056167656E7406706172656E7400"
        let on = try records(scanner: true)
        XCTAssertTrue(on.contains(cds) && on.contains(csync), on.joined(separator: "\n"))
        XCTAssertTrue(on.contains("update add *._dsync.parent. 3600 IN TYPE66 \\# 19 00FF0214B6056167656E7406706172656E7400"))
        let off = try records(scanner: false)
        XCTAssertFalse(off.contains(cds) || off.contains(csync), off.joined(separator: "\n"))
    }
}
