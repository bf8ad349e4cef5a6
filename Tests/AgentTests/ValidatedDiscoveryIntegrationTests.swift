import ChildAgent
import DNSWire
import Foundation
import TestSupport
import XCTest

/// Validated DSYNC discovery (`dsync-validation: anchor`) against a real signer: one BIND signs
/// `parent.` with NSEC3 and `nsec.` with NSEC by `dnssec-policy`, each publishing the
/// recommended wildcard `*._dsync.<zone>` DSYNC; the child agent's discovery asks that BIND as
/// its resolver (it answers its own zones) and validates every answer from the zone's KSK:
/// the NXDOMAIN for `a._dsync.b.<zone>` by BIND's NSEC/NSEC3 proof, then the wildcard answer at
/// `a.b._dsync.<zone>` with its proof. With another anchor the same answers are bogus.
///
/// Address 127.0.0.87, port 16083 (control).
final class ValidatedDiscoveryIntegrationTests: XCTestCase {
    func testBINDSignedParentsValidateWithNSECAndNSEC3() async throws {
        try Lab.skipUnlessAvailable(.bind)
        let server = "127.0.0.87"
        func zone(_ name: String) -> String {
            """
            $TTL 5
            \(name) IN SOA ns1.\(name) hostmaster.\(name) 1 3600 900 604800 5
            \(name) IN NS ns1.\(name)
            ns1.\(name) IN A \(server)
            updater.\(name) IN A \(server)
            *._dsync.\(name) IN TYPE66 \\# 21 00FF 02 14B6 077570646174657206706172656E7400

            """
        }
        let config =
            ScannerIntegrationTests.signingBIND(zones: ["nsec."], addresses: [server], control: 16083, policy: "lab")
                + """
                dnssec-policy "lab3" {
                    keys { ksk lifetime unlimited algorithm 13; zsk lifetime unlimited algorithm 13; };
                    nsec3param iterations 0 optout no salt-length 4;
                    dnskey-ttl 5;
                    max-zone-ttl 5;
                };
                zone "parent." { type primary; file "{DIR}/parent.db"; key-directory "{DIR}"; dnssec-policy "lab3"; inline-signing no; allow-update { key "lab-key"; }; };

                """
        let bind = try LabServer.custom(
            kind: .bind, zone: "nsec.", zoneFileText: zone("nsec."), address: server, port: 53, config: config,
            files: ["lab.key": ScannerIntegrationTests.bindKey("lab-key"), "parent.db": zone("parent.")])
        defer { bind.stop() }
        for (name, denial) in [("nsec.", " NSEC "), ("parent.", "NSEC3PARAM")] {
            try await ScannerIntegrationTests.wait("BIND to sign \(name)", seconds: 90) {
                let answer = try bind.dig(["+dnssec", "+noall", "+answer", name, denial == " NSEC " ? "NSEC" : "NSEC3PARAM"])
                return answer.contains(denial == " NSEC " ? "NSEC" : "NSEC3PARAM") && answer.contains("RRSIG")
            }
            let keys = try bind.dig(["+noall", "+answer", name, "DNSKEY"]).split(separator: "\n").filter { $0.contains("257 3 13") }
            XCTAssertEqual(keys.count, 1)
            let anchor = try TrustAnchor(text: keys.joined(separator: "\n"))
            let lookup = DNSClientLookup(timeout: .seconds(3))
            func discover(_ anchor: TrustAnchor) async throws -> DSYNCTarget {
                try await DSYNCDiscovery(
                    lookup: lookup, resolver: NameserverAddress(server), validation: .anchor(anchor), now: Int64(Date().timeIntervalSince1970)
                ).discover(child: try DomainName("a.b.\(name)"))
            }
            let target = try await discover(anchor)
            XCTAssertEqual(target.owner, try DomainName("a.b._dsync.\(name)"), name)
            XCTAssertEqual(target.port, 5302)
            let dnssec = try XCTUnwrap(target.dnssec, name)
            XCTAssertTrue(dnssec.hasPrefix("secure") && dnssec.contains("synthesized from *._dsync.\(name)"), dnssec)
            XCTAssertEqual(target.steps.first?.description.contains("NXDOMAIN"), true, "\(target.steps)")

            // Another key as the anchor: the same answers do not validate, and discovery says so.
            let other = ZoneSigner.key(try DomainName(name))
            do {
                let wrong = try await discover(TrustAnchor(zone: try DomainName(name), ds: [other.ds()]))
                XCTFail("\(name): discovery succeeded from a wrong anchor: \(wrong)")
            } catch let error as DSYNCDiscoveryError {
                XCTAssertEqual(error.code, .bogus, "\(error)")
                XCTAssertTrue(error.description.contains("no DNSKEY of \(name) matches its DS"), error.description)
            }
        }
    }
}
