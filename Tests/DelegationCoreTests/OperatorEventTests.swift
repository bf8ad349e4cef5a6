import DNSWire
import DelegationCore
import Foundation
import XCTest

/// The event document: exact JSON (RFC 8259) with RFC 3339 times (UTCTime itself is tested in
/// KeyBootstrapScenarioTests), escaping that keeps any text inside its string, and the events
/// the workers build from their jobs and changes.
final class OperatorEventTests: XCTestCase {
    let zone = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")
    let start: Int64 = 1_800_000_000
    let rdata = KEYData(flags: 512, algorithm: 15, publicKey: Array(Data(base64Encoded: "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")!)).rdata

    func testDocumentMembersAndOrder() {
        let key = KeyIdentity(zone: zone, child: child, rdata: rdata)
        let event = OperatorEvent(kind: .keyTrusted, time: start, zone: zone, child: child, key: key, detail: "trusted")
        XCTAssertEqual(
            event.json(agent: "ns0.example"),
            #"{"event":"key-trusted","time":"2027-01-15T08:00:00Z","zone":"parent.","child":"child.parent.","key":"child.parent. 15/\#(key.keyTag) sha256:\#(key.digest.hexString)","detail":"trusted","agent":"ns0.example"}"#
        )
        let zoneOnly = OperatorEvent(kind: .backendFailing, time: start, zone: zone, detail: "x")
        XCTAssertEqual(
            zoneOnly.json(agent: "a"),
            #"{"event":"backend-failing","time":"2027-01-15T08:00:00Z","zone":"parent.","child":null,"key":null,"detail":"x","agent":"a"}"#)
    }

    /// Text from elsewhere (a backend's error, a child's name with escapes) cannot break out of
    /// its string, and the result is JSON that Foundation reads back to the same values.
    func testEscaping() throws {
        let detail = "quote \" backslash \\ newline \n tab \t bell \u{07} delete \u{7F} é ✓"
        let strange = try DomainName("a\\\"b.parent.")
        let event = OperatorEvent(kind: .changeGivenUp, time: start, zone: zone, child: strange, detail: detail)
        let text = event.json(agent: "host\"name")
        XCTAssertFalse(text.contains("\n"))
        XCTAssertTrue(text.contains(#"\u0007"#), text)
        XCTAssertTrue(text.contains(#"\u007f"#), text)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(object["detail"] as? String, detail)
        XCTAssertEqual(object["child"] as? String, strange.description)
        XCTAssertEqual(object["agent"] as? String, "host\"name")
        XCTAssertTrue(object["key"] is NSNull)
        XCTAssertEqual(Set(object.keys), ["event", "time", "zone", "child", "key", "detail", "agent"])
    }

    func testEveryKindHasAStableName() {
        XCTAssertEqual(
            OperatorEvent.Kind.allCases.map(\.rawValue),
            ["key-trusted", "bootstrap-failed", "change-committed", "change-given-up", "backend-failing", "backend-recovered", "out-of-step"])
    }

    func testBootstrapEvents() {
        var job = KeyBootstrap(zone: zone, child: child, key: rdata, source: "192.0.2.7 (TCP)", now: start, policy: BootstrapPolicy(rounds: 1))
        _ = job.nextAction(now: start)
        job.record(
            [
                KeyObservation(
                    nameserver: try! DomainName("ns1.child.parent."), address: "192.0.2.1",
                    answer: .answered(rcode: 0, authoritative: true, keys: [rdata], ttl: 60))
            ],
            now: start)
        let trusted = OperatorEvent.keyTrusted(job, zone: zone, child: child, now: start + 5)
        XCTAssertEqual(trusted.kind, .keyTrusted)
        XCTAssertEqual(trusted.key, KeyIdentity(zone: zone, child: child, rdata: rdata))
        XCTAssertEqual(trusted.time, start + 5)
        XCTAssertEqual(
            trusted.detail,
            "key \(job.keyTag) uploaded from 192.0.2.7 (TCP) is trusted: 1 round(s) passed at every nameserver; the child's other keys are revoked")

        let failed = OperatorEvent.bootstrapFailed(
            job, zone: zone, child: child, reason: "round 1: ns1.child.parent. at 192.0.2.1 answered REFUSED", now: start)
        XCTAssertEqual(failed.kind, .bootstrapFailed)
        XCTAssertEqual(failed.key, trusted.key)
        XCTAssertTrue(failed.detail.contains("is not trusted: round 1: ns1.child.parent. at 192.0.2.1 answered REFUSED"), failed.detail)

        let rolled = OperatorEvent.keyTrusted(rollover: rdata, zone: zone, child: child, now: start)
        XCTAssertEqual(rolled.key, trusted.key)
        XCTAssertTrue(rolled.detail.contains("rollover"), rolled.detail)
    }

    func testChangeEvents() throws {
        let operations: [Update.Operation] = [.add(try Record("child.parent. 3600 IN NS ns2.child.parent.")), .deleteRRset(child, .ds)]
        let now = start + 125
        let committed = OperatorEvent.changeCommitted(zone: zone, child: child, signer: nil, operations: operations, queuedAt: start, now: now)
        XCTAssertEqual(
            committed.detail,
            "committed at the parent's primary after 125 s in the outbox: add child.parent. 3600 IN NS ns2.child.parent.; delete child.parent. DS")
        let atOnce = OperatorEvent.changeCommitted(zone: zone, child: child, signer: nil, operations: operations, queuedAt: now, now: now)
        XCTAssertTrue(atOnce.detail.hasPrefix("committed at the parent's primary: add"), atOnce.detail)

        let givenUp = OperatorEvent.changeGivenUp(zone: zone, child: child, signer: nil, operations: operations, reason: "given up: deadline", now: now)
        XCTAssertEqual(givenUp.kind, .changeGivenUp)
        XCTAssertTrue(givenUp.detail.hasPrefix("given up: deadline: add child.parent."), givenUp.detail)
    }
}
