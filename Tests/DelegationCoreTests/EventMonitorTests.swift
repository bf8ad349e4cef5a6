import DNSWire
import DelegationCore
import Foundation
import XCTest

/// The episode events with fixed time: each is due once its threshold has passed, once per
/// episode, also after a restart (the episodes come back from the store as they were).
final class EventMonitorTests: XCTestCase {
    let zone = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")
    let start: Int64 = 1_800_000_000
    let monitor = EventMonitor(backendFailingAfter: 900, outOfStepAfter: 12 * 3600)
    let signer = KeyIdentity(
        zone: try! DomainName("parent."), child: try! DomainName("child.parent."),
        rdata: KEYData(flags: 512, algorithm: 15, publicKey: Array(Data(base64Encoded: "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")!)).rdata)

    /// What the store would hold after applying a review: the stored episodes replace theirs,
    /// the ended ones go.
    func apply(_ review: EventMonitor.Review, to episodes: [EventMonitor.Episode]) -> [EventMonitor.Episode] {
        var byKey = Dictionary(episodes.map { ("\($0.kind) \($0.subject)", $0) }, uniquingKeysWith: { _, last in last })
        for episode in review.ended { byKey["\(episode.kind) \(episode.subject)"] = nil }
        for report in review.reported { byKey["\(report.episode.kind) \(report.episode.subject)"] = report.episode }
        return byKey.values.sorted { "\($0.kind) \($0.subject)" < "\($1.kind) \($1.subject)" }
    }

    // MARK: Backend failing

    func testBackendFailingIsReportedOnceAfterTheThresholdThenRecovered() throws {
        let opened = try XCTUnwrap(monitor.backendFailed(zone: zone, error: "connection refused", now: start, open: nil))
        XCTAssertEqual(opened.since, start)
        XCTAssertNil(opened.reportedAt)
        XCTAssertNil(monitor.backendFailed(zone: zone, error: "timeout", now: start + 60, open: opened), "a second failure opens nothing")
        var episodes = [opened]

        let early = monitor.review(now: start + 899, zones: [zone], episodes: episodes, backlog: [])
        XCTAssertEqual(early, EventMonitor.Review(), "not yet 15 minutes")

        let due = monitor.review(now: start + 900, zones: [zone], episodes: episodes, backlog: [])
        XCTAssertEqual(due.events.map(\.kind), [.backendFailing])
        let event = try XCTUnwrap(due.events.first)
        XCTAssertEqual(event.zone, zone)
        XCTAssertNil(event.child)
        XCTAssertNil(event.key)
        XCTAssertEqual(event.time, start + 900)
        XCTAssertTrue(event.detail.contains("since 2027-01-15 08:00:00 UTC (15 min); first error: connection refused"), event.detail)
        XCTAssertEqual(due.reported.first?.episode.reportedAt, start + 900)
        episodes = apply(due, to: episodes)

        for later in [start + 901, start + 86400] {
            XCTAssertEqual(monitor.review(now: later, zones: [zone], episodes: episodes, backlog: []).events, [], "once per episode")
        }

        let recovered = try XCTUnwrap(monitor.backendWorked(episodes[0], now: start + 3600))
        XCTAssertEqual(recovered.kind, .backendRecovered)
        XCTAssertEqual(recovered.zone, zone)
        XCTAssertTrue(recovered.detail.contains("after 1 h of failures"), recovered.detail)
    }

    func testAnEpisodeShorterThanTheThresholdEndsWithoutEvents() throws {
        let opened = try XCTUnwrap(monitor.backendFailed(zone: zone, error: "connection refused", now: start, open: nil))
        XCTAssertEqual(monitor.review(now: start + 300, zones: [zone], episodes: [opened], backlog: []).events, [])
        XCTAssertNil(monitor.backendWorked(opened, now: start + 301), "never reported, so no recovery to report")
    }

    func testThresholdZeroReportsAtTheFirstReview() throws {
        let eager = EventMonitor(backendFailingAfter: 0, outOfStepAfter: 3600)
        let opened = try XCTUnwrap(eager.backendFailed(zone: zone, error: "connection refused", now: start, open: nil))
        XCTAssertEqual(eager.review(now: start, zones: [zone], episodes: [opened], backlog: []).events.map(\.kind), [.backendFailing])
    }

    /// After a restart the store gives back a reported episode: nothing is sent again, and the
    /// recovery is still reported.
    func testRestartDoesNotRepeatAReport() throws {
        let stored = EventMonitor.Episode(kind: .backendFailing, zone: zone, since: start, reportedAt: start + 900, detail: "connection refused")
        XCTAssertEqual(monitor.review(now: start + 7200, zones: [zone], episodes: [stored], backlog: []).events, [])
        XCTAssertEqual(monitor.backendWorked(stored, now: start + 7300)?.kind, .backendRecovered)
    }

    func testEpisodesOfZonesNoLongerServedEndSilently() {
        let gone = try! DomainName("gone.")
        let episodes = [
            EventMonitor.Episode(kind: .backendFailing, zone: gone, since: start),
            EventMonitor.Episode(kind: .outOfStep, zone: gone, child: try! DomainName("a.gone."), since: start, reportedAt: start),
        ]
        let review = monitor.review(now: start + 86400, zones: [zone], episodes: episodes, backlog: [])
        XCTAssertEqual(review.events, [])
        XCTAssertEqual(review.ended, episodes)
        let backlog = [EventMonitor.Backlog(zone: gone, child: try! DomainName("a.gone."), oldest: start, count: 1)]
        XCTAssertEqual(monitor.review(now: start + 86400, zones: [zone], episodes: [], backlog: backlog).events, [])
    }

    // MARK: Out of step

    func testOutOfStepIsReportedOncePerEpisode() throws {
        let backlog = [EventMonitor.Backlog(zone: zone, child: child, oldest: start, count: 2, signer: signer, lastError: "SERVFAIL from the primary")]
        XCTAssertEqual(monitor.review(now: start + 12 * 3600 - 1, zones: [zone], episodes: [], backlog: backlog).events, [])

        let due = monitor.review(now: start + 12 * 3600, zones: [zone], episodes: [], backlog: backlog)
        let event = try XCTUnwrap(due.events.first)
        XCTAssertEqual(due.events.count, 1)
        XCTAssertEqual(event.kind, .outOfStep)
        XCTAssertEqual(event.child, child)
        XCTAssertEqual(event.key, signer, "the key that signed the oldest waiting change")
        XCTAssertTrue(event.detail.hasPrefix("2 accepted change(s) for child.parent. not at the parent yet"), event.detail)
        XCTAssertTrue(event.detail.contains("(12 h ago); last error: SERVFAIL from the primary"), event.detail)
        let episode = try XCTUnwrap(due.reported.first?.episode)
        XCTAssertEqual(episode.since, start)
        XCTAssertEqual(episode.reportedAt, start + 12 * 3600)
        let episodes = apply(due, to: [])

        // Still waiting, hours later, and after a restart (the episode comes from the store).
        XCTAssertEqual(monitor.review(now: start + 30 * 3600, zones: [zone], episodes: episodes, backlog: backlog), EventMonitor.Review())

        // The change reached the parent: the episode ends without an event.
        let ended = monitor.review(now: start + 31 * 3600, zones: [zone], episodes: episodes, backlog: [])
        XCTAssertEqual(ended.events, [])
        XCTAssertEqual(ended.ended, episodes)
    }

    /// The old change was given up while a newer one waits, not yet as long as the threshold:
    /// that episode ends, and the newer change gets its own report once it is late.
    func testANewerWaitingChangeStartsItsOwnEpisode() throws {
        let old = [EventMonitor.Backlog(zone: zone, child: child, oldest: start, count: 2)]
        var episodes = apply(monitor.review(now: start + 12 * 3600, zones: [zone], episodes: [], backlog: old), to: [])
        XCTAssertEqual(episodes.count, 1)

        let newer = [EventMonitor.Backlog(zone: zone, child: child, oldest: start + 10 * 3600, count: 1)]
        let ended = monitor.review(now: start + 13 * 3600, zones: [zone], episodes: episodes, backlog: newer)
        XCTAssertEqual(ended.events, [])
        XCTAssertEqual(ended.ended.count, 1)
        episodes = apply(ended, to: episodes)

        let again = monitor.review(now: start + 22 * 3600, zones: [zone], episodes: episodes, backlog: newer)
        XCTAssertEqual(again.events.map(\.kind), [.outOfStep])
        XCTAssertEqual(again.reported.first?.episode.since, start + 10 * 3600)
    }

    func testChildrenAndZonesAreSeparateEpisodes() throws {
        let other = try DomainName("other.parent.")
        let backlog = [
            EventMonitor.Backlog(zone: zone, child: child, oldest: start, count: 1),
            EventMonitor.Backlog(zone: zone, child: other, oldest: start, count: 1),
        ]
        let failing = [EventMonitor.Episode(kind: .backendFailing, zone: zone, since: start)]
        let review = monitor.review(now: start + 12 * 3600, zones: [zone], episodes: failing, backlog: backlog)
        XCTAssertEqual(review.events.map(\.kind), [.backendFailing, .outOfStep, .outOfStep])
        XCTAssertEqual(Set(review.events.compactMap(\.child)), [child, other])
    }

    func testDurations() {
        XCTAssertEqual(
            [0, 59, 60, 3599, 3600, 3660, 86400, 90000].map { EventMonitor.duration($0) },
            ["0 s", "59 s", "1 min", "59 min", "1 h", "1 h 1 min", "1 d", "1 d 1 h"])
    }
}
