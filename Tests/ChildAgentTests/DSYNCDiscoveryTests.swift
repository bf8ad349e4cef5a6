import ChildAgent
import DNSWire
import TestSupport
import XCTest

/// RFC 9859 §4.1 discovery against a scripted resolver at 192.0.2.53.
final class DSYNCDiscoveryTests: XCTestCase {
    let resolver = "192.0.2.53"

    func name(_ text: String) throws -> DomainName { try DomainName(text) }

    /// The target's addresses, as every successful discovery needs them.
    var updaterAddresses: [String: ScriptedLookup.Reply] {
        [
            "\(resolver) updater.parent. A": .records("updater.parent. 300 IN A 192.0.2.80"),
            "\(resolver) updater.parent. AAAA": .records("updater.parent. 300 IN AAAA 2001:db8::80"),
        ]
    }

    func discovery(_ lookup: ScriptedLookup, scheme: DSYNCData.Scheme = .update) -> DSYNCDiscovery {
        DSYNCDiscovery(lookup: lookup, resolver: NameserverAddress(resolver), scheme: scheme)
    }

    /// The error discovery throws; succeeding fails the test.
    func discoveryError(_ lookup: ScriptedLookup, child: String) async throws -> DSYNCDiscoveryError {
        do {
            let target = try await discovery(lookup).discover(child: name(child))
            throw ToolError("discovery succeeded: \(target)")
        } catch let error as DSYNCDiscoveryError {
            return error
        }
    }

    func testChildSpecificRecordIsUsedAtOnce() async throws {
        let lookup = ScriptedLookup(updaterAddresses)
        lookup.set(["\(resolver) child._dsync.parent. DSYNC": .records("child._dsync.parent. 300 IN DSYNC ANY UPDATE 5302 updater.parent.")])
        let target = try await discovery(lookup).discover(child: name("child.parent."))
        XCTAssertEqual(target.parent, try name("parent."))
        XCTAssertEqual(target.owner, try name("child._dsync.parent."))
        XCTAssertEqual(target.target, try name("updater.parent."))
        XCTAssertEqual(target.port, 5302)
        XCTAssertEqual(target.addresses, ["192.0.2.80", "2001:db8::80"])
        XCTAssertEqual(target.endpoints.map(\.description), ["192.0.2.80:5302", "[2001:db8::80]:5302"])
        XCTAssertTrue(target.isDiscovered)
        XCTAssertEqual(target.dsync, DSYNCData(rrType: .any, scheme: .update, port: 5302, target: try name("updater.parent.")))
        XCTAssertEqual(
            target.steps.map(\.description),
            [
                "child._dsync.parent. DSYNC: ANY UPDATE 5302 updater.parent.",
                "updater.parent. A: 192.0.2.80",
                "updater.parent. AAAA: 2001:db8::80",
            ])
        // Everything goes to the resolver with RD=1.
        XCTAssertTrue(lookup.queries.allSatisfy { $0.recursionDesired && $0.server.host == resolver }, "\(lookup.queries)")
    }

    /// `a.b.parent.` delegated from `parent.`: the first name is negative with SOA `parent.`,
    /// the child-specific name below `_dsync.parent.` is answered by the wildcard.
    func testNegativeAnswerLeadsThroughTheSOAToTheWildcard() async throws {
        let lookup = ScriptedLookup(updaterAddresses)
        lookup.set([
            "\(resolver) a._dsync.b.parent. DSYNC": .nxDomain(zone: "parent."),
            // What a wildcard `*._dsync.parent.` synthesises: the owner is the name asked.
            "\(resolver) a.b._dsync.parent. DSYNC": .records("a.b._dsync.parent. 300 IN DSYNC ANY UPDATE 5302 updater.parent."),
        ])
        let target = try await discovery(lookup).discover(child: name("a.b.parent."))
        XCTAssertEqual(target.parent, try name("parent."))
        XCTAssertEqual(target.owner, try name("a.b._dsync.parent."))
        XCTAssertEqual(target.port, 5302)
        XCTAssertEqual(
            lookup.queries.filter { $0.type == .dsync }.map(\.name),
            [try name("a._dsync.b.parent."), try name("a.b._dsync.parent.")])
        XCTAssertEqual(target.steps.first?.description, "a._dsync.b.parent. DSYNC: NXDOMAIN (zone parent.)")
    }

    /// Only the bare `_dsync.parent.` holds the record (RFC 9859 §3: allowed, not recommended).
    func testBareDSYNCNameIsTheLastStep() async throws {
        let lookup = ScriptedLookup(updaterAddresses)
        lookup.set([
            "\(resolver) a._dsync.b.parent. DSYNC": .nxDomain(zone: "parent."),
            "\(resolver) a.b._dsync.parent. DSYNC": .nxDomain(zone: "parent."),
            "\(resolver) _dsync.parent. DSYNC": .records("_dsync.parent. 300 IN DSYNC ANY UPDATE 5302 updater.parent."),
        ])
        let target = try await discovery(lookup).discover(child: name("a.b.parent."))
        XCTAssertEqual(target.owner, try name("_dsync.parent."))
        XCTAssertEqual(target.parent, try name("parent."))
        XCTAssertEqual(
            lookup.queries.filter { $0.type == .dsync }.map(\.name),
            [try name("a._dsync.b.parent."), try name("a.b._dsync.parent."), try name("_dsync.parent.")])

        // A child one label below its parent: the first name is already the child-specific one,
        // so a NODATA there goes straight to the bare name.
        let direct = ScriptedLookup(updaterAddresses)
        direct.set([
            "\(resolver) child._dsync.parent. DSYNC": .noData(zone: "parent."),
            "\(resolver) _dsync.parent. DSYNC": .records("_dsync.parent. 300 IN DSYNC ANY UPDATE 5302 updater.parent."),
        ])
        let found = try await discovery(direct).discover(child: name("child.parent."))
        XCTAssertEqual(found.owner, try name("_dsync.parent."))
        XCTAssertEqual(found.steps.first?.description, "child._dsync.parent. DSYNC: NODATA (zone parent.)")
    }

    func testRecordsWithPortZeroOrSchemeZeroAreIgnored() async throws {
        let lookup = ScriptedLookup(updaterAddresses)
        lookup.set([
            "\(resolver) child._dsync.parent. DSYNC": .records(
                "child._dsync.parent. 300 IN DSYNC ANY 0 5302 reserved.parent.",
                "child._dsync.parent. 300 IN DSYNC CDS UPDATE 0 portless.parent.",
                "child._dsync.parent. 300 IN DSYNC ANY UPDATE 5302 updater.parent.")
        ])
        let target = try await discovery(lookup).discover(child: name("child.parent."))
        XCTAssertEqual(target.target, try name("updater.parent."))

        // With only those two, nothing is usable, and the message says why.
        let unusable = ScriptedLookup(updaterAddresses)
        unusable.set([
            "\(resolver) child._dsync.parent. DSYNC": .records(
                "child._dsync.parent. 300 IN DSYNC ANY 0 5302 reserved.parent.",
                "child._dsync.parent. 300 IN DSYNC ANY UPDATE 0 portless.parent.")
        ])
        let error = try await discoveryError(unusable, child: "child.parent.")
        XCTAssertEqual(error.code, .noMatchingRecord)
        XCTAssertTrue(error.description.contains("ANY 0 5302 reserved.parent. (scheme 0: ignored"), error.description)
        XCTAssertTrue(error.description.contains("ANY UPDATE 0 portless.parent. (port 0: ignored"), error.description)
    }

    /// A NOTIFY-only RRset is a positive answer: discovery stops there (RFC 9859 §4.1) and says
    /// there is no UPDATE receiver, naming what it found.
    func testNotifyOnlyRRsetIsAClearError() async throws {
        let lookup = ScriptedLookup([
            "\(resolver) child._dsync.parent. DSYNC": .records(
                "child._dsync.parent. 300 IN DSYNC CDS NOTIFY 5359 scanner.parent.",
                "child._dsync.parent. 300 IN DSYNC CSYNC NOTIFY 5359 scanner.parent.")
        ])
        let error = try await discoveryError(lookup, child: "child.parent.")
        XCTAssertEqual(error.code, .noMatchingRecord)
        XCTAssertTrue(
            error.description.hasPrefix(
                "DSYNC discovery for child.parent.: the DSYNC RRset at child._dsync.parent. has no usable record with scheme UPDATE (2) and RRtype ANY"),
            error.description)
        XCTAssertTrue(error.description.contains("CDS NOTIFY 5359 scanner.parent. (scheme NOTIFY)"), error.description)
        XCTAssertEqual(lookup.queries.count, 1, "the wildcard must not be consulted after a positive answer")
    }

    func testResolverTimeoutIsAClearError() async throws {
        let lookup = ScriptedLookup(["\(resolver) child._dsync.parent. DSYNC": .timeout])
        let error = try await discoveryError(lookup, child: "child.parent.")
        XCTAssertEqual(error.code, .resolverUnreachable)
        XCTAssertTrue(
            error.description.contains("the resolver 192.0.2.53 did not answer child._dsync.parent. DSYNC: timeout over udp"), error.description)
        XCTAssertEqual(error.steps.map(\.description), ["child._dsync.parent. DSYNC: no answer from 192.0.2.53: timeout over udp: no answer within 5 seconds"])
    }

    func testResolverFailureIsAClearError() async throws {
        let lookup = ScriptedLookup(["\(resolver) child._dsync.parent. DSYNC": .rcode(.servFail)])
        let error = try await discoveryError(lookup, child: "child.parent.")
        XCTAssertEqual(error.code, .resolverFailed)
        XCTAssertTrue(error.description.contains("the resolver 192.0.2.53 answered SERVFAIL to child._dsync.parent. DSYNC"), error.description)
    }

    func testNothingPublishedNamesEveryNameAsked() async throws {
        let lookup = ScriptedLookup([
            "\(resolver) child._dsync.parent. DSYNC": .nxDomain(zone: "parent."),
            "\(resolver) _dsync.parent. DSYNC": .nxDomain(zone: "parent."),
        ])
        let error = try await discoveryError(lookup, child: "child.parent.")
        XCTAssertEqual(error.code, .notFound)
        XCTAssertTrue(
            error.description.contains("no DSYNC record with scheme UPDATE at child._dsync.parent. or _dsync.parent.: the parent parent. does not publish"),
            error.description)
        XCTAssertEqual(error.steps.count, 2)
    }

    func testNegativeAnswerWithoutSOAOrFromElsewhereIsRefused() async throws {
        let noSOA = ScriptedLookup(["\(resolver) child._dsync.parent. DSYNC": .rcode(.nxDomain)])
        let first = try await discoveryError(noSOA, child: "child.parent.")
        XCTAssertEqual(first.code, .noParent)
        XCTAssertTrue(first.description.contains("has no SOA record"), first.description)

        let elsewhere = ScriptedLookup(["\(resolver) child._dsync.parent. DSYNC": .nxDomain(zone: "other.example.")])
        let second = try await discoveryError(elsewhere, child: "child.parent.")
        XCTAssertEqual(second.code, .noParent)
        XCTAssertTrue(second.description.contains("comes from zone other.example., which is not above child.parent."), second.description)
    }

    /// Two records for (ANY, UPDATE) break RFC 9859 §3: refused rather than guessed.
    func testTwoRecordsForTheSameTypeAndSchemeAreRefused() async throws {
        let lookup = ScriptedLookup(updaterAddresses)
        lookup.set([
            "\(resolver) child._dsync.parent. DSYNC": .records(
                "child._dsync.parent. 300 IN DSYNC ANY UPDATE 5302 updater.parent.",
                "child._dsync.parent. 300 IN DSYNC ANY UPDATE 53 other.parent.")
        ])
        let error = try await discoveryError(lookup, child: "child.parent.")
        XCTAssertEqual(error.code, .ambiguous)
        XCTAssertTrue(error.description.contains("has 2 records with RRtype ANY and scheme UPDATE"), error.description)
    }

    func testSchemeNumberIsConfigurable() async throws {
        let lookup = ScriptedLookup(updaterAddresses)
        lookup.set([
            "\(resolver) child._dsync.parent. DSYNC": .records(
                "child._dsync.parent. 300 IN DSYNC ANY UPDATE 5302 other.parent.",
                "child._dsync.parent. 300 IN DSYNC ANY 130 5399 updater.parent.")
        ])
        let target = try await discovery(lookup, scheme: DSYNCData.Scheme(130)).discover(child: name("child.parent."))
        XCTAssertEqual(target.port, 5399)
        XCTAssertEqual(target.target, try name("updater.parent."))
    }

    func testTargetWithoutAddressIsAClearError() async throws {
        let lookup = ScriptedLookup([
            "\(resolver) child._dsync.parent. DSYNC": .records("child._dsync.parent. 300 IN DSYNC ANY UPDATE 5302 updater.parent."),
            "\(resolver) updater.parent. A": .nxDomain(zone: "parent."),
            "\(resolver) updater.parent. AAAA": .nxDomain(zone: "parent."),
        ])
        let error = try await discoveryError(lookup, child: "child.parent.")
        XCTAssertEqual(error.code, .targetUnresolvable)
        XCTAssertTrue(error.description.contains("updater.parent., the DSYNC target (from child._dsync.parent.), has no address"), error.description)
    }

    /// A receiver from the configuration bypasses discovery: by address, nothing is asked; by
    /// name, only its addresses.
    func testConfiguredReceiverBypassesDiscovery() async throws {
        let fixed = DSYNCTarget.configured(parent: try name("parent."), port: 5302, addresses: ["192.0.2.99"])
        XCTAssertFalse(fixed.isDiscovered)
        XCTAssertEqual(fixed.endpoints, [NameserverAddress("192.0.2.99", port: 5302)])
        XCTAssertTrue(fixed.steps.isEmpty)

        let lookup = ScriptedLookup(updaterAddresses)
        let named = try await discovery(lookup).configuredTarget(parent: name("parent."), target: name("updater.parent."), port: 5302)
        XCTAssertEqual(named.addresses, ["192.0.2.80", "2001:db8::80"])
        XCTAssertNil(named.owner)
        XCTAssertFalse(lookup.queries.contains { $0.type == .dsync })

        let nowhere = ScriptedLookup()
        do {
            _ = try await discovery(nowhere).configuredTarget(parent: name("parent."), target: name("gone.parent."), port: 5302)
            XCTFail("a configured receiver without addresses was accepted")
        } catch let error as DSYNCDiscoveryError {
            XCTAssertTrue(error.description.hasPrefix("the configured UPDATE receiver gone.parent. for parent.: "), error.description)
        }
    }

    /// Asked for a specific RRtype, a record for that type wins over one for ANY.
    func testRecordForTheAskedTypeWinsOverAny() async throws {
        let lookup = ScriptedLookup(updaterAddresses)
        lookup.set([
            "\(resolver) child._dsync.parent. DSYNC": .records(
                "child._dsync.parent. 300 IN DSYNC ANY UPDATE 5302 other.parent.",
                "child._dsync.parent. 300 IN DSYNC CDS UPDATE 5303 updater.parent.")
        ])
        let target = try await DSYNCDiscovery(lookup: lookup, resolver: NameserverAddress(resolver), rrType: .cds).discover(child: name("child.parent."))
        XCTAssertEqual(target.port, 5303)
    }
}
