import DNSWire
import DelegationCore
import SIG0
import TestSupport
import XCTest

/// The `at-apex` bootstrap: the child's KEY RRset validated under the parent's DS, one round.
final class KeyBootstrapAtApexTests: XCTestCase {
    typealias S = ScanScenario
    let ksk = ZoneSigner.key(S.child)
    let zsk = ZoneSigner.key(S.child, flags: 256)
    let sig0 = KEYData(flags: 512, algorithm: 15, publicKey: [UInt8](repeating: 7, count: 32))

    /// What one server serves: KEY and DNSKEY with RRSIGs (the KEY signed by `keySigner`).
    func served(keySigner: ZoneSigner.Key? = nil, now signer: ZoneSigner = S.signer) -> [Record] {
        let key = Record(name: S.child, type: .key, ttl: 3600, rdata: sig0.rdata)
        return signer.signed([key], with: [keySigner ?? zsk]) + signer.signed([ksk.record, zsk.record], with: [ksk])
    }

    var ds: Set<[UInt8]> { [ksk.ds().rdata] }

    func testKeyRRsetValidatingUnderTheDSPasses() {
        XCTAssertNil(KeyBootstrap.validateAtApex([("ns1", served()), ("ns2", served())], child: S.child, ds: ds, now: S.now))
    }

    func testEachWayToFailSaysWhy() {
        let stranger = ZoneSigner.key(S.child, flags: 256)
        let cases: [(String?, String)] = [
            (KeyBootstrap.validateAtApex([("ns1", served()), ("ns2", served(keySigner: stranger))], child: S.child, ds: ds, now: S.now), "ns2"),
            (KeyBootstrap.validateAtApex([("ns1", served())], child: S.child, ds: [], now: S.now), "needs a signed child"),
            (KeyBootstrap.validateAtApex([("ns1", served())], child: S.child, ds: ds, now: S.now + 41 * S.day), "expired"),
            (KeyBootstrap.validateAtApex([("ns1", served().filter { $0.type != .dnskey })], child: S.child, ds: ds, now: S.now), "no DNSKEY RRset"),
            (KeyBootstrap.validateAtApex([("ns1", served())], child: S.child, ds: [ZoneSigner.key(S.child).ds().rdata], now: S.now), "matches its DS"),
        ]
        for (reason, expected) in cases {
            XCTAssertTrue(reason?.contains(expected) == true, "\(String(describing: reason)) should mention \(expected)")
        }
    }

    func testOneValidatedRoundTrustsTheKey() {
        var job = KeyBootstrap(
            zone: S.parent, child: S.child, key: sig0.rdata, source: "192.0.2.7 (TCP)", now: S.now, policy: BootstrapPolicy(rounds: 3), method: .atApex)
        XCTAssertEqual(job.requiredRounds, 1)
        let observation = KeyObservation(nameserver: S.ns1, address: "192.0.2.1", answer: .answered(rcode: 0, authoritative: true, keys: [sig0.rdata], ttl: 60))
        XCTAssertEqual(job.record([observation], validation: nil, now: S.now), .promote)
        XCTAssertEqual(job.state, .trusted(at: S.now))

        var bogus = KeyBootstrap(
            zone: S.parent, child: S.child, key: sig0.rdata, source: "192.0.2.7 (TCP)", now: S.now, policy: BootstrapPolicy(), method: .atApex)
        XCTAssertEqual(bogus.record([observation], validation: "the KEY RRset at ns1 does not validate", now: S.now), .done)
        XCTAssertEqual(bogus.state, .failed(reason: "round 1: the KEY RRset at ns1 does not validate"))
    }

    /// KeyState 0 (automatic) takes at-apex for a signed child where offered, unsigned otherwise.
    func testMethodChoice() {
        var policy = BootstrapPolicy()
        policy.methods = [.atApex, .unsigned, .manual]
        XCTAssertEqual(policy.method(requested: .unsigned, signed: true), .atApex)
        XCTAssertEqual(policy.method(requested: .unsigned, signed: false), .unsigned)
        XCTAssertEqual(policy.method(requested: nil, signed: false), .unsigned)
        XCTAssertEqual(policy.method(requested: .manual, signed: true), .manual)
        policy.methods = [.atApex]
        XCTAssertNil(policy.method(requested: nil, signed: false))
        XCTAssertEqual(policy.method(requested: .manual, signed: true), .atApex)
    }
}
