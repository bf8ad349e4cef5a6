import DNSWire
import DelegationCore
import SIG0
import TestSupport
import XCTest

/// An unsigned delegation's first DS: the RFC 8078 §3.3 delay over days and scans (fake time),
/// and RFC 9615 signals validated from a trust anchor (accepted at once).
final class DelegationScanBootstrapTests: XCTestCase {
    typealias S = ScanScenario
    let ksk = ZoneSigner.key(S.child)
    let zsk = ZoneSigner.key(S.child, flags: 256)

    func signedChild() -> S.Zone {
        var zone = S.Zone(ksks: [ksk], zsk: zsk)
        zone.publishCDS(for: [ksk])
        return zone
    }

    /// Runs scans at the given days after `S.now`, carrying the observation as the agent does.
    func scans(_ days: [Double], servers: [S.Server], scan: DelegationScan, start: BootstrapObservation? = nil) -> [ScanOutcome] {
        var observation = start
        return days.map { day in
            let outcome = S.judge(scan, servers, bootstrap: observation, now: S.now + Int64(day * Double(S.day)))
            observation = outcome.bootstrap
            return outcome
        }
    }

    func testFirstDSAfterThreeDaysAndThreeScans() {
        let scan = S.scan(S.delegation(ds: []))
        let outcomes = scans([0, 1, 2, 3], servers: S.servers(signedChild()), scan: scan)
        for (index, outcome) in outcomes.prefix(3).enumerated() {
            guard case .waiting(let text) = outcome.ds else { return XCTFail("scan \(index): \(outcome)") }
            XCTAssertTrue(text.contains("scan \(index + 1) of 3") && text.contains("RFC 8078 §3.3"), text)
            XCTAssertEqual(outcome.operations, [])
        }
        guard case .change(let text) = outcomes[3].ds else { return XCTFail("\(outcomes[3])") }
        XCTAssertTrue(text.contains("3 day(s) over 4 scans"), text)
        XCTAssertEqual(outcomes[3].operations, [.add(Record(name: S.child, type: .ds, ttl: 3600, rdata: ksk.ds().rdata))])
        XCTAssertNil(outcomes[3].bootstrap)
    }

    func testScansCloserThanTheSpacingDoNotCount() {
        let scan = S.scan(S.delegation(ds: []))
        let outcomes = scans([0, 0.1, 0.2, 0.5, 3], servers: S.servers(signedChild()), scan: scan)
        XCTAssertEqual(outcomes[3].bootstrap?.scans, 1)
        guard case .waiting(let text) = outcomes[4].ds else { return XCTFail("\(outcomes[4])") }
        XCTAssertTrue(text.contains("scan 2 of 3"), text)
    }

    func testAChangedCDSStartsOver() {
        let scan = S.scan(S.delegation(ds: []))
        let first = scans([0, 1, 2], servers: S.servers(signedChild()), scan: scan)
        let other = ZoneSigner.key(S.child)
        var changed = S.Zone(ksks: [other], zsk: zsk)
        changed.publishCDS(for: [other])
        let after = scans([3, 4], servers: S.servers(changed), scan: scan, start: first.last?.bootstrap)
        XCTAssertEqual(after[0].bootstrap?.firstSeen, S.now + 3 * S.day)
        guard case .waiting(let text) = after[1].ds else { return XCTFail("\(after[1])") }
        XCTAssertTrue(text.contains("scan 2 of 3"), text)
    }

    func testAnInconsistentScanStartsOver() {
        let scan = S.scan(S.delegation(ds: []))
        let first = scans([0, 1, 2], servers: S.servers(signedChild()), scan: scan)
        var servers = S.servers(signedChild())
        servers[1] = S.Server(S.ns2, "192.0.2.2", S.Zone(ksks: [ksk], zsk: zsk))
        let broken = S.judge(scan, servers, bootstrap: first.last?.bootstrap, now: S.now + 3 * S.day)
        XCTAssertEqual(broken.ds.violation?.rule, "cds-inconsistent")
        XCTAssertNil(broken.bootstrap)
    }

    func testDaysAndScansAreConfigurable() {
        let scan = S.scan(S.delegation(ds: []), policy: DelegationScan.Policy(bootstrap: .init(days: 7, scans: 2)))
        let outcomes = scans([0, 4, 6.9, 7], servers: S.servers(signedChild()), scan: scan)
        XCTAssertFalse(outcomes[2].ds.isChange)
        XCTAssertTrue(outcomes[3].ds.isChange, "\(outcomes[3])")
    }

    func testUnsignedChildMustSignWithTheKeyItAsksFor() {
        var zone = signedChild()
        let other = ZoneSigner.key(S.child)
        zone.idleKeys = [other]
        zone.cdsSigners = [other]
        let outcome = S.judge(S.scan(S.delegation(ds: [])), S.servers(zone))
        XCTAssertEqual(outcome.ds.violation?.rule, "cds-bogus")
        XCTAssertTrue(outcome.ds.violation?.text.contains("RFC 7344 §4.1") ?? false, "\(outcome)")
    }

    func testCDSOnAnUnsignedZoneIsRefused() {
        var zone = signedChild()
        zone.unsigned = true
        let outcome = S.judge(S.scan(S.delegation(ds: [])), S.servers(zone))
        XCTAssertEqual(outcome.ds.violation?.rule, "ds-breaks-validation", "\(outcome)")
    }

    func testDeleteSignalOfAnUnsignedChildChangesNothing() {
        var zone = S.Zone(ksks: [ksk], zsk: zsk)
        zone.publishDelete()
        zone.unsigned = true
        let outcome = S.judge(S.scan(S.delegation(ds: [])), S.servers(zone))
        XCTAssertEqual(outcome.ds, .unchanged("child.parent. publishes the delete signal and the parent holds no DS: nothing to remove"))
    }

    // MARK: RFC 9615

    static let example = try! DomainName("example.")
    static let provider = try! DomainName("provider.example.")
    static let outsideNS = try! DomainName("ns1.provider.example.")

    let exampleKey = ZoneSigner.key(DelegationScanBootstrapTests.example)
    let providerKey = ZoneSigner.key(DelegationScanBootstrapTests.provider)

    /// A delegation to ns1.child.parent. and ns1.provider.example. (outside the child).
    func mixedDelegation() -> (DelegationScan, [S.Server]) {
        var current = S.delegation(ds: [], nameservers: [S.ns1])
        current.nameservers.insert(Self.outsideNS)
        var zone = signedChild()
        zone.nameservers = [S.ns1, Self.outsideNS]
        zone.addresses = [S.ns1: ["192.0.2.1"]]
        let policy = DelegationScan.Policy(anchor: TrustAnchor(zone: Self.example, ds: [exampleKey.ds()]))
        return (S.scan(current, policy: policy), [S.Server(S.ns1, "192.0.2.1", zone), S.Server(Self.outsideNS, "198.51.100.1", zone)])
    }

    /// The signals under ns1.provider.example., in provider.example. below example.; signed by
    /// `signer` (the provider's key unless given).
    func signal(_ records: [Record], signer: ZoneSigner.Key? = nil) -> SignalingObservation {
        let name = Signaling.name(.dsboot, child: S.child, nameserver: Self.outsideNS)!
        let top = S.signer.signed([exampleKey.record, providerKey.dsRecord()], with: [exampleKey])
        let below = S.signer.signed([providerKey.record], with: [providerKey])
        let moved = records.map { Record(name: name, type: $0.type, ttl: $0.ttl, rdata: $0.rdata) }
        let signed = S.signer.signed(moved, with: [signer ?? providerKey])
        var answers: [RRType: ChildServerObservation.Answer] = [:]
        for type in [RRType.cds, .cdnskey] {
            answers[type] = S.answer(signed, name, type, false)
        }
        let chain = [
            DNSSECValidator.ChainLink(zone: Self.example, ds: nil, dnskey: SignedRRset(top, name: Self.example, type: .dnskey)!),
            DNSSECValidator.ChainLink(
                zone: Self.provider, ds: SignedRRset(top, name: Self.provider, type: .ds), dnskey: SignedRRset(below, name: Self.provider, type: .dnskey)!),
        ]
        return SignalingObservation(nameserver: Self.outsideNS, name: name, answers: answers, chain: chain)
    }

    func testSignalingNameFollowsRFC9615() {
        XCTAssertEqual(
            Signaling.name(.dsboot, child: S.child, nameserver: Self.outsideNS)?.description, "_dsboot.child.parent._signal.ns1.provider.example.")
        let (scan, servers) = mixedDelegation()
        let names = scan.signalingNames(in: S.observe(servers, scan: scan))
        XCTAssertEqual(names.map(\.name.description), ["_dsboot.child.parent._signal.ns1.provider.example."])
    }

    func testValidatedSignalsAcceptTheFirstDSAtOnce() {
        let (scan, servers) = mixedDelegation()
        let outcome = S.judge(scan, servers, signaling: [signal([ksk.cdsRecord, ksk.cdnskeyRecord])])
        guard case .change(let text) = outcome.ds else { return XCTFail("\(outcome)") }
        XCTAssertTrue(text.contains("RFC 9615"), text)
        XCTAssertEqual(outcome.operations, [.add(Record(name: S.child, type: .ds, ttl: 3600, rdata: ksk.ds().rdata))])
    }

    func testSignalThatDiffersFromTheApexIsRefused() {
        let (scan, servers) = mixedDelegation()
        let outcome = S.judge(scan, servers, signaling: [signal([ksk.cdsRecord])])
        XCTAssertEqual(outcome.ds.violation?.rule, "bootstrap-signal-invalid")
        XCTAssertTrue(outcome.ds.violation?.text.contains("RFC 9615 §4.2 step 4") ?? false, "\(outcome)")
    }

    func testBogusSignalIsRefused() {
        let (scan, servers) = mixedDelegation()
        let outcome = S.judge(scan, servers, signaling: [signal([ksk.cdsRecord, ksk.cdnskeyRecord], signer: ZoneSigner.key(Self.provider))])
        XCTAssertEqual(outcome.ds.violation?.rule, "bootstrap-signal-invalid")
        XCTAssertTrue(outcome.ds.violation?.text.contains("does not validate from the trust anchor") ?? false, "\(outcome)")
    }

    func testSignalWithoutItsChainIsRefused() {
        let (scan, servers) = mixedDelegation()
        var observation = signal([ksk.cdsRecord, ksk.cdnskeyRecord])
        observation.chain.removeLast()
        let outcome = S.judge(scan, servers, signaling: [observation])
        XCTAssertEqual(outcome.ds.violation?.rule, "bootstrap-signal-invalid")
    }

    func testNoSignalFallsBackToTheDelay() {
        let (scan, servers) = mixedDelegation()
        let outcome = S.judge(scan, servers, signaling: [signal([])])
        guard case .waiting(let text) = outcome.ds else { return XCTFail("\(outcome)") }
        XCTAssertTrue(text.contains("no RFC 9615 signal under any NS"), text)
    }
}
