import DNSWire
import DelegationCore
import TestSupport
import XCTest

/// The `at-ns` bootstrap (the DDNS draft, RFC 9615's rules): scenarios with fake signaling
/// servers — the signals under two nameservers outside the child, in provider.example. below the
/// anchor example. — and fake time. Each refusal must say why.
final class KeyBootstrapAtNSTests: XCTestCase {
    typealias S = ScanScenario
    static let example = try! DomainName("example.")
    static let provider = try! DomainName("provider.example.")
    static let outside1 = try! DomainName("ns1.provider.example.")
    static let outside2 = try! DomainName("ns2.provider.example.")

    let exampleKey = ZoneSigner.key(KeyBootstrapAtNSTests.example)
    let providerKey = ZoneSigner.key(KeyBootstrapAtNSTests.provider)
    let sig0 = KEYData(flags: 512, algorithm: 15, publicKey: [UInt8](repeating: 7, count: 32))
    let other = KEYData(flags: 512, algorithm: 15, publicKey: [UInt8](repeating: 9, count: 32))

    /// ns1.child.parent. inside the child, two nameservers of provider.example. outside it.
    let nameservers: Set<DomainName> = [S.ns1, KeyBootstrapAtNSTests.outside1, KeyBootstrapAtNSTests.outside2]
    var anchor: TrustAnchor { TrustAnchor(zone: Self.example, ds: [exampleKey.ds()]) }
    var apex: Set<[UInt8]> { [sig0.rdata] }

    /// What the resolver found under `nameserver`: the KEY RRset `keys` at the `_sig0key`
    /// signaling name signed by `signer` (the provider's key unless given; nil: unsigned), and the
    /// chain example. → provider.example. (`secureDelegation` false: no DS for provider.example.).
    func signal(
        under nameserver: DomainName, keys: [KEYData]? = nil, signer: ZoneSigner.Key? = nil, unsigned: Bool = false, secureDelegation: Bool = true
    ) -> SignalingObservation {
        let name = Signaling.name(.sig0key, child: S.child, nameserver: nameserver)!
        let top = S.signer.signed([exampleKey.record] + (secureDelegation ? [providerKey.dsRecord()] : []), with: [exampleKey])
        let below = S.signer.signed([providerKey.record], with: [providerKey])
        let records = (keys ?? [sig0]).map { Record(name: name, type: .key, ttl: 3600, rdata: $0.rdata) }
        let served = unsigned ? records : S.signer.signed(records, with: [signer ?? providerKey])
        var chain = [DNSSECValidator.ChainLink(zone: Self.example, ds: nil, dnskey: SignedRRset(top, name: Self.example, type: .dnskey)!)]
        if secureDelegation {
            chain.append(
                DNSSECValidator.ChainLink(
                    zone: Self.provider, ds: SignedRRset(top, name: Self.provider, type: .ds), dnskey: SignedRRset(below, name: Self.provider, type: .dnskey)!))
        }
        return SignalingObservation(nameserver: nameserver, name: name, answers: [.key: S.answer(served, name, .key, false)], chain: chain)
    }

    func judge(_ signaling: [SignalingObservation], now: Int64 = S.now) -> Signaling.Verdict {
        KeyBootstrap.validateAtNS(signaling, child: S.child, nameservers: nameservers, apex: apex, anchor: anchor, now: now)
    }

    /// The failure text, or a test failure when the verdict is not a failure.
    func failure(_ verdict: Signaling.Verdict, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard case .failed(let text) = verdict else {
            XCTFail("expected a failure, got \(verdict)", file: file, line: line)
            return ""
        }
        return text
    }

    func testSignalingNamesAreUnderEveryNameserverOutsideTheChild() {
        XCTAssertEqual(
            KeyBootstrap.atNSNames(child: S.child, nameservers: nameservers).map(\.name.description),
            ["_sig0key.child.parent._signal.ns1.provider.example.", "_sig0key.child.parent._signal.ns2.provider.example."])
    }

    /// Accepted: both signals hold the apex's KEY RRset and validate from the anchor.
    func testValidatedSignalsUnderEveryOutsideNameserverAreAccepted() {
        guard case .authenticated(let text) = judge([signal(under: Self.outside1), signal(under: Self.outside2)]) else {
            return XCTFail("not authenticated")
        }
        XCTAssertTrue(text.contains("ns1.provider.example., ns2.provider.example."), text)
    }

    /// A signal at one NS missing: RFC 9615's rigor, every out-of-domain NS must signal.
    func testASignalMissingAtOneNameserverIsRefused() {
        var missing = signal(under: Self.outside2)
        missing.answers = [.key: S.answer([], missing.name, .key, false)]
        let text = failure(judge([signal(under: Self.outside1), missing]))
        XCTAssertTrue(text.contains("_sig0key.child.parent._signal.ns2.provider.example. holds no KEY"), text)
        let notAsked = failure(judge([signal(under: Self.outside1)]))
        XCTAssertTrue(notAsked.contains("no signal was looked up under ns2.provider.example."), notAsked)
    }

    /// Bogus signature: signed by a key the provider's DNSKEY RRset does not hold.
    func testBogusSignatureIsRefused() {
        let text = failure(judge([signal(under: Self.outside1), signal(under: Self.outside2, signer: ZoneSigner.key(Self.provider))]))
        XCTAssertTrue(text.contains("does not validate from the trust anchor for example."), text)
        XCTAssertTrue(text.contains("no trusted DNSKEY of provider.example. has that tag"), text)
    }

    /// Wrong key: a validated signal with another key than the apex serves (and was uploaded).
    func testSignalWithAnotherKeyIsRefused() {
        let text = failure(judge([signal(under: Self.outside1), signal(under: Self.outside2, keys: [other])]))
        XCTAssertTrue(text.contains("must be the same"), text)
        XCTAssertTrue(text.contains("ns2.provider.example."), text)
    }

    /// Expired RRSIG: the same signals, checked 41 days later (the signer's window is 40).
    func testExpiredSignatureIsRefused() {
        let text = failure(judge([signal(under: Self.outside1), signal(under: Self.outside2)], now: S.now + 41 * S.day))
        XCTAssertTrue(text.contains("expired"), text)
    }

    /// Insecure ns-zone: provider.example. has no DS in example. and serves its signal unsigned:
    /// nothing validates it, so it is refused (never taken as proof).
    func testSignalFromAnInsecureZoneIsRefused() {
        let insecure = signal(under: Self.outside2, unsigned: true, secureDelegation: false)
        let text = failure(judge([signal(under: Self.outside1), insecure]))
        XCTAssertTrue(text.contains("ns2.provider.example. KEY does not validate"), text)
        XCTAssertTrue(text.contains("has no RRSIG"), text)
    }

    /// A resolver that did not answer for one signal.
    func testUnansweredLookupIsRefused() {
        var failed = signal(under: Self.outside2)
        failed.failure = "the resolver 127.0.0.53 port 53: timed out"
        XCTAssertTrue(failure(judge([signal(under: Self.outside1), failed])).contains("timed out"))
    }

    /// No signal under any NS, no anchor, or no NS outside the child: nothing to go by.
    func testAbsentSignals() {
        var empty1 = signal(under: Self.outside1), empty2 = signal(under: Self.outside2)
        empty1.answers = [:]
        empty2.answers = [:]
        guard case .absent(let text) = judge([empty1, empty2]) else { return XCTFail() }
        XCTAssertTrue(text.contains("no RFC 9615 signal under any NS"), text)
        guard case .absent = KeyBootstrap.validateAtNS([], child: S.child, nameservers: [S.ns1], apex: apex, anchor: anchor, now: S.now) else {
            return XCTFail()
        }
        guard
            case .absent = KeyBootstrap.validateAtNS(
                [signal(under: Self.outside1)], child: S.child, nameservers: nameservers, apex: apex, anchor: nil, now: S.now)
        else { return XCTFail() }
    }

    // MARK: The job

    func job(methods: [BootstrapPolicy.Method]) -> KeyBootstrap {
        var policy = BootstrapPolicy(rounds: 3)
        policy.methods = methods
        return KeyBootstrap(zone: S.parent, child: S.child, key: sig0.rdata, source: "192.0.2.7 (TCP)", now: S.now, policy: policy, method: .atNS)
    }

    var apexObservation: KeyObservation {
        KeyObservation(nameserver: S.ns1, address: "192.0.2.1", answer: .answered(rcode: 0, authoritative: true, keys: [sig0.rdata], ttl: 60))
    }

    func testOneValidatedRoundTrustsTheKey() {
        var job = job(methods: [.atNS])
        XCTAssertEqual(job.requiredRounds, 1)
        XCTAssertEqual(job.record([apexObservation], validation: nil, now: S.now), .promote)
        XCTAssertEqual(job.state, .trusted(at: S.now))
        var bogus = self.job(methods: [.atNS])
        XCTAssertEqual(bogus.record([apexObservation], validation: "at-ns: signal bogus", now: S.now), .done)
        XCTAssertEqual(bogus.state, .failed(reason: "round 1: at-ns: signal bogus"))
    }

    /// Without any signal the job continues as `unsigned` where offered (this round is round 1 of
    /// 3), and cannot where it is not.
    func testNoSignalContinuesAsUnsignedOnlyWhereOffered() {
        var job = job(methods: [.atNS, .unsigned])
        XCTAssertTrue(job.continueUnsignedWithoutSignals())
        XCTAssertEqual(job.method, .unsigned)
        XCTAssertEqual(job.record([apexObservation], validation: nil, now: S.now), .waitUntil(S.now + 300))
        XCTAssertEqual(job.requiredRounds, 3)
        var only = self.job(methods: [.atNS])
        XCTAssertFalse(only.continueUnsignedWithoutSignals())
        XCTAssertEqual(only.method, .atNS)
    }

    /// KeyState 0 (automatic): at-apex for a signed child, at-ns for one with an NS outside it,
    /// else unsigned — among those offered.
    func testAutomaticChoiceTakesAtNSWhereItFits() {
        var policy = BootstrapPolicy()
        policy.methods = [.unsigned, .atNS, .atApex, .manual]
        XCTAssertEqual(policy.method(requested: .unsigned, signed: true, signalable: true), .atApex)
        XCTAssertEqual(policy.method(requested: .unsigned, signed: false, signalable: true), .atNS)
        XCTAssertEqual(policy.method(requested: .unsigned, signed: false, signalable: false), .unsigned)
        XCTAssertEqual(policy.method(requested: .manual, signed: false, signalable: true), .manual)
        policy.methods = [.atNS]
        XCTAssertNil(policy.method(requested: nil, signed: true, signalable: false))
        XCTAssertEqual(policy.method(requested: .manual, signed: false, signalable: true), .atNS)
    }
}
