import ChildAgent
import DNSWire
import TestSupport
import Foundation
import XCTest

/// DSYNC discovery with `dsync-validation` against a scripted resolver at 192.0.2.53 serving a
/// signed root and a signed `parent.` (``ZoneSigner``, NSEC): a secure answer is used, a bogus one
/// refused with the reason, a negative answer proven by NSEC, an unsigned parent (proven
/// insecure) accepted as such; and the resolver's AD bit when the operator trusts it.
final class ValidatedDiscoveryTests: XCTestCase {
    let resolver = "192.0.2.53"
    let now: Int64 = 1_800_000_000
    let root = DomainName.root
    let parent = try! DomainName("parent.")
    lazy var signer = ZoneSigner(inception: UInt32(now - 86400), expiration: UInt32(now + 30 * 86400))
    lazy var rootKey = ZoneSigner.key(root)
    lazy var parentKey = ZoneSigner.key(parent)
    var anchor: TrustAnchor { TrustAnchor(zone: root, ds: [rootKey.ds()]) }

    static func texts(_ records: [Record]) -> [String] { records.map(\.description) }

    /// The resolver's view: the root's DNSKEY, the DS of `parent.` (or, `signedParent` false,
    /// the root's NSEC proving there is none) and `parent.`'s DNSKEY; then the parent zone
    /// `records` with an NSEC chain (signed, or not at all when the parent is unsigned).
    func script(parentRecords: [Record], signedParent: Bool = true) -> (ScriptedLookup, zone: [Record]) {
        let soa = try! Record("parent. 300 IN SOA ns1.parent. hostmaster.parent. 1 3600 900 604800 300")
        let content = [soa, try! Record("parent. 300 IN NS ns1.parent."), try! Record("updater.parent. 300 IN A 192.0.2.80")] + parentRecords
        let lookup = ScriptedLookup([
            "\(resolver) updater.parent. A": .records("updater.parent. 300 IN A 192.0.2.80"),
            "\(resolver) updater.parent. AAAA": .noData(zone: "parent."),
            "\(resolver) . DNSKEY": ScriptedLookup.Reply(answer: Self.texts(signer.signed([rootKey.record], with: [rootKey]))),
        ])
        guard signedParent else {
            let rootSOA = try! Record(". 300 IN SOA a.root. hostmaster.root. 1 3600 900 604800 300")
            let rootZone = [rootSOA, try! Record("parent. 300 IN NS ns1.parent."), rootKey.record]
            let proof = signer.signed([rootSOA], with: [rootKey]) + signer.nsecChain(rootZone, zone: root, key: rootKey)
            lookup.set(["\(resolver) parent. DS": ScriptedLookup.Reply(authority: Self.texts(proof))])
            return (lookup, content)
        }
        let zone = signer.signed(content + [parentKey.record], with: [parentKey]) + signer.nsecChain(content + [parentKey.record], zone: parent, key: parentKey)
        lookup.set([
            "\(resolver) parent. DS": ScriptedLookup.Reply(answer: Self.texts(signer.signed([parentKey.dsRecord()], with: [rootKey]))),
            "\(resolver) parent. DNSKEY": ScriptedLookup.Reply(answer: Self.texts(zone.filter { $0.name == parent && Self.covers($0, .dnskey) })),
        ])
        return (lookup, zone)
    }

    /// A record of `type`, or an RRSIG over it.
    static func covers(_ record: Record, _ type: RRType) -> Bool {
        record.type == type || (record.type == .rrsig && RRType(UInt16(record.rdata[0]) << 8 | UInt16(record.rdata[1])) == type)
    }

    func discover(_ lookup: ScriptedLookup, _ validation: DSYNCValidation, at time: Int64? = nil) async throws -> DSYNCTarget {
        try await DSYNCDiscovery(lookup: lookup, resolver: NameserverAddress(resolver), validation: validation, now: time ?? now).discover(
            child: try DomainName("child.parent."))
    }

    func refusal(_ lookup: ScriptedLookup, _ validation: DSYNCValidation, at time: Int64? = nil) async throws -> DSYNCDiscoveryError {
        do {
            let target = try await discover(lookup, validation, at: time)
            throw ToolError("discovery succeeded: \(target)")
        } catch let error as DSYNCDiscoveryError {
            return error
        }
    }

    let wildcard = try! Record("*._dsync.parent. 300 IN DSYNC ANY 2 5302 updater.parent.")
    let asked = try! DomainName("child._dsync.parent.")

    /// The answer a server gives from the wildcard: the records and RRSIG moved to the name
    /// asked; `proof`: the NSEC records that show the name itself does not exist.
    func wildcardAnswer(_ zone: [Record], proof: Bool = true, port: UInt16? = nil) -> ScriptedLookup.Reply {
        var answer = zone.filter { $0.name == wildcard.name && Self.covers($0, .dsync) }.map {
            Record(name: asked, type: $0.type, ttl: $0.ttl, rdata: $0.rdata)
        }
        if let port {
            answer = answer.map {
                $0.type == .dsync
                    ? Record(
                        name: asked, type: .dsync, ttl: 300,
                        rdata: DSYNCData(rrType: .any, scheme: .update, port: port, target: try! DomainName("updater.parent.")).rdata) : $0
            }
        }
        let nsec = zone.filter { $0.name == wildcard.name && Self.covers($0, .nsec) }
        return ScriptedLookup.Reply(answer: Self.texts(answer), authority: proof ? Self.texts(nsec) : [])
    }

    func testSecureWildcardAnswerIsUsed() async throws {
        let (lookup, zone) = script(parentRecords: [wildcard])
        lookup.set(["\(resolver) child._dsync.parent. DSYNC": wildcardAnswer(zone)])
        let target = try await discover(lookup, .anchor(anchor))
        XCTAssertEqual(target.port, 5302)
        let dnssec = try XCTUnwrap(target.dnssec)
        XCTAssertTrue(dnssec.hasPrefix("secure") && dnssec.contains("synthesized from *._dsync.parent."), dnssec)
        XCTAssertTrue(target.description.contains("DNSSEC secure"), target.description)
    }

    /// A DSYNC whose RDATA was changed on the way (another port): its RRSIG no longer verifies.
    func testForgedDSYNCIsRefused() async throws {
        let (lookup, zone) = script(parentRecords: [wildcard])
        lookup.set(["\(resolver) child._dsync.parent. DSYNC": wildcardAnswer(zone, port: 53)])
        let error = try await refusal(lookup, .anchor(anchor))
        XCTAssertEqual(error.code, .bogus)
        XCTAssertTrue(error.description.contains("is bogus, refused") && error.description.contains("signature does not verify"), error.description)
        // Without validation the forged port is taken: what dsync-validation prevents.
        let target = try await discover(lookup, .none)
        XCTAssertEqual(target.port, 53)
    }

    func testWildcardAnswerWithoutItsProofIsRefused() async throws {
        let (lookup, zone) = script(parentRecords: [wildcard])
        lookup.set(["\(resolver) child._dsync.parent. DSYNC": wildcardAnswer(zone, proof: false)])
        let error = try await refusal(lookup, .anchor(anchor))
        XCTAssertEqual(error.code, .bogus)
        XCTAssertTrue(error.description.contains("RFC 4035 §5.3.4"), error.description)
    }

    func testExpiredSignaturesAreRefused() async throws {
        let (lookup, zone) = script(parentRecords: [wildcard])
        lookup.set(["\(resolver) child._dsync.parent. DSYNC": wildcardAnswer(zone)])
        let error = try await refusal(lookup, .anchor(anchor), at: now + 60 * 86400)
        XCTAssertEqual(error.code, .bogus)
        XCTAssertTrue(error.description.contains("expired"), error.description)
    }

    /// RFC 9859 §4.1 with a bare `_dsync.parent.`: the NXDOMAIN for `child._dsync.parent.` must
    /// be proven (a forged one could steer the child elsewhere), then the bare name is used.
    func testValidatedAbsenceLeadsToTheBareName() async throws {
        let bare = try Record("_dsync.parent. 300 IN DSYNC ANY 2 5302 updater.parent.")
        let (lookup, zone) = script(parentRecords: [bare])
        let proof = zone.filter { $0.name == bare.name && Self.covers($0, .nsec) } + zone.filter { $0.name == parent && Self.covers($0, .soa) }
        lookup.set([
            "\(resolver) _dsync.parent. DSYNC": ScriptedLookup.Reply(answer: Self.texts(zone.filter { $0.name == bare.name && Self.covers($0, .dsync) })),
            "\(resolver) child._dsync.parent. DSYNC": ScriptedLookup.Reply(rcode: .nxDomain, authority: Self.texts(proof)),
        ])
        let target = try await discover(lookup, .anchor(anchor))
        XCTAssertEqual(target.owner, bare.name)
        XCTAssertTrue(target.dnssec?.hasPrefix("secure") == true, "\(String(describing: target.dnssec))")
        // The same NXDOMAIN without its NSEC records is refused.
        lookup.set(["\(resolver) child._dsync.parent. DSYNC": .nxDomain(zone: "parent.")])
        let error = try await refusal(lookup, .anchor(anchor))
        XCTAssertEqual(error.code, .bogus)
        XCTAssertTrue(error.description.contains("NXDOMAIN for child._dsync.parent. DSYNC is bogus"), error.description)
    }

    /// The root proves `parent.` has no DS: its unsigned DSYNC is used, and said to be insecure.
    func testUnsignedParentProvenInsecureIsAccepted() async throws {
        let (lookup, _) = script(parentRecords: [], signedParent: false)
        lookup.set([
            "\(resolver) child._dsync.parent. DSYNC": .records("child._dsync.parent. 300 IN DSYNC ANY 2 5302 updater.parent."),
            "\(resolver) child._dsync.parent. SOA": .noData(zone: "parent."),
        ])
        let target = try await discover(lookup, .anchor(anchor))
        let dnssec = try XCTUnwrap(target.dnssec)
        XCTAssertTrue(dnssec.hasPrefix("insecure") && dnssec.contains("there is no DS for parent."), dnssec)
    }

    /// An unsigned DSYNC from a parent whose DS the root holds is bogus.
    func testUnsignedAnswerFromASignedParentIsRefused() async throws {
        let (lookup, _) = script(parentRecords: [wildcard])
        lookup.set([
            "\(resolver) child._dsync.parent. DSYNC": .records("child._dsync.parent. 300 IN DSYNC ANY 2 5302 updater.parent."),
            "\(resolver) child._dsync.parent. SOA": .noData(zone: "parent."),
        ])
        let error = try await refusal(lookup, .anchor(anchor))
        XCTAssertEqual(error.code, .bogus)
        XCTAssertTrue(error.description.contains("has no RRSIG, but its zone parent. is signed"), error.description)
    }

    func testResolverADBit() async throws {
        let lookup = ScriptedLookup([
            "\(resolver) updater.parent. A": .records("updater.parent. 300 IN A 192.0.2.80"),
            "\(resolver) updater.parent. AAAA": .noData(zone: "parent."),
        ])
        var reply = ScriptedLookup.Reply.records("child._dsync.parent. 300 IN DSYNC ANY 2 5302 updater.parent.")
        lookup.set(["\(resolver) child._dsync.parent. DSYNC": reply])
        let error = try await refusal(lookup, .resolverAD)
        XCTAssertEqual(error.code, .notValidated)
        XCTAssertTrue(error.description.contains("did not set the AD bit"), error.description)
        reply.ad = true
        lookup.set(["\(resolver) child._dsync.parent. DSYNC": reply])
        let target = try await discover(lookup, .resolverAD)
        XCTAssertEqual(target.dnssec, "validated by the resolver 192.0.2.53 (AD bit)")
    }
}

/// `dsync-validation` and `trust-anchor-file` in the child's configuration.
final class DSYNCValidationConfigurationTests: XCTestCase {
    let base = "version: 1\nchildren: [{ name: child.example., primary: { address: 127.0.0.1 } }]\n"

    func error(_ text: String) -> String {
        do {
            _ = try ChildConfiguration.parse(base + text, file: "child.yaml")
            return "parsed"
        } catch {
            return "\(error)"
        }
    }

    func testKeysAreCheckedWhenLoaded() throws {
        XCTAssertEqual(try ChildConfiguration.parse(base).dsyncValidation, DSYNCValidation.none)
        XCTAssertTrue(
            error("dsync-validation: strict").contains("dsync-validation: \"strict\" is not none, resolver-ad or anchor"), error("dsync-validation: strict"))
        XCTAssertTrue(error("dsync-validation: resolver-ad").contains("resolver-ad needs resolver:"))
        XCTAssertTrue(error("dsync-validation: anchor").contains("anchor needs trust-anchor-file:"))
        XCTAssertTrue(error("dsync-validation: anchor\ntrust-anchor-file: /nonexistent/root.anchor").contains("cannot read /nonexistent/root.anchor"))
        let directory = try Tool.temporaryDirectory("dsync-validation")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "not a record\n".write(toFile: "\(directory)/bad.anchor", atomically: true, encoding: .utf8)
        XCTAssertTrue(error("dsync-validation: anchor\ntrust-anchor-file: \(directory)/bad.anchor").contains("is not a trust anchor"))
        let key = ZoneSigner.key(.root)
        try "\(key.dsRecord())\n".write(toFile: "\(directory)/root.anchor", atomically: true, encoding: .utf8)
        let configuration = try ChildConfiguration.parse(base + "dsync-validation: anchor\ntrust-anchor-file: \(directory)/root.anchor\n")
        XCTAssertEqual(configuration.dsyncValidation, .anchor(TrustAnchor(zone: .root, ds: [key.ds()])))
        XCTAssertTrue(try configuration.yaml().contains("dsync-validation: anchor"))
    }
}
