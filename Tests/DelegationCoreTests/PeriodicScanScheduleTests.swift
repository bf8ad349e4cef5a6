import DNSWire
import XCTest

@testable import DelegationCore

/// The periodic scan schedule: each child once per interval at its own slot, a round looking
/// only at the children whose slot passed, new children looked at once, gone ones never.
final class PeriodicScanScheduleTests: XCTestCase {
    let start: Int64 = 1_800_000_000

    func children(_ count: Int, prefix: String = "c") -> [DomainName] {
        (0..<count).map { try! DomainName("\(prefix)\($0).parent.") }
    }

    /// Everything `schedule` hands out now.
    func drain(_ schedule: inout PeriodicScanSchedule) -> [DomainName] {
        var out: [DomainName] = []
        while let child = schedule.next() { out.append(child) }
        return out
    }

    /// Rounds every 7 seconds over two intervals: every child is handed out once per interval,
    /// in the round its slot falls in (and once at the start, as new).
    func testEachChildOncePerIntervalInTheRoundOfItsSlot() {
        let interval: Int64 = 600
        let all = children(500)
        var schedule = PeriodicScanSchedule(interval: interval, now: start)
        schedule.update(children: all)
        XCTAssertEqual(Set(drain(&schedule)), Set(all), "every child is new: looked at once")
        var handed: [DomainName: [Int64]] = [:]
        var previous = start
        for now in stride(from: start + 7, through: start + 2 * interval, by: 7) {
            schedule.advance(now: now)
            for child in drain(&schedule) {
                handed[child, default: []].append(now)
                XCTAssertTrue(PeriodicScanSchedule.isDue(child, lastScan: previous, interval: interval, now: now), "\(child) at \(now)")
            }
            previous = now
        }
        let last = start + (2 * interval / 7) * 7
        for child in all {
            let times = handed[child] ?? []
            // Two intervals (less the last few seconds) hold one or two of its slots.
            let slots = (start + 1...last).filter { ($0 - PeriodicScanSchedule.offset(child, interval: interval)) % interval == 0 }.count
            XCTAssertEqual(times.count, slots, "\(child): \(times)")
            if times.count == 2 { XCTAssertEqual(times[1] - times[0], interval, accuracy: 7) }
        }
    }

    /// A round of one second in a zone of 40,000 children with an hourly interval looks at
    /// the few whose slot passed, not at all of them.
    func testARoundLooksOnlyAtTheChildrenWhoseSlotPassed() {
        var schedule = PeriodicScanSchedule(interval: 3600, now: start)
        schedule.update(children: children(40_000))
        XCTAssertEqual(drain(&schedule).count, 40_000)
        var looked = 0
        for second in 1...60 {
            schedule.advance(now: start + Int64(second))
            looked += drain(&schedule).count
        }
        // 40,000 × 60 / 3600 ≈ 667 expected; far from 40,000 either way.
        XCTAssertGreaterThan(looked, 500)
        XCTAssertLessThan(looked, 850)
    }

    /// New children are looked at once at the next round, whatever their slot; children gone
    /// from the zone are no longer handed out, even when they were waiting.
    func testNewChildrenOnceAndGoneChildrenNever() {
        var schedule = PeriodicScanSchedule(interval: 3600, now: start)
        let first = children(100)
        schedule.update(children: first)
        schedule.advance(now: start + 4000)  // a whole interval: everyone waits again
        let later = children(10, prefix: "new")
        schedule.update(children: Array(first.prefix(50)) + later)
        let handed = drain(&schedule)
        XCTAssertEqual(Set(handed), Set(first.prefix(50) + later))
        XCTAssertEqual(handed.filter { later.contains($0) }.count, 10, "each new child once")
        XCTAssertEqual(schedule.count, 60)
        XCTAssertNil(schedule.next())
    }

    /// A refresh while nothing waits hands out only the children new to the schedule (any
    /// spelling of a known name is the known child); keeping the schedule's own children
    /// (`gather`, when the zone's list cannot be had) hands out nothing.
    func testARefreshHandsOutOnlyNewChildren() throws {
        var schedule = PeriodicScanSchedule(interval: 3600, now: start)
        let first = children(1000)
        schedule.update(children: first)
        XCTAssertEqual(drain(&schedule).count, 1000)
        schedule.advance(now: start + 1)
        _ = drain(&schedule)
        let later = children(3, prefix: "new")
        schedule.update(children: first.reversed() + later + [try DomainName("C7.PARENT.")])
        XCTAssertEqual(Set(drain(&schedule)), Set(later))
        XCTAssertEqual(schedule.count, 1003)
        var kept = PeriodicScanSchedule.Children()
        schedule.gather(into: &kept)
        kept.insert(later[0])
        schedule.update(kept)
        XCTAssertEqual(schedule.count, 1003)
        XCTAssertNil(schedule.next())
    }

    /// After a pause of a whole interval or more (the agent was busy or the clock jumped),
    /// every child is handed out.
    func testAGapOfAWholeIntervalHandsOutEveryone() {
        var schedule = PeriodicScanSchedule(interval: 300, now: start)
        schedule.update(children: children(40))
        _ = drain(&schedule)
        schedule.advance(now: start + 300)
        XCTAssertEqual(drain(&schedule).count, 40)
        schedule.advance(now: start + 300)
        XCTAssertEqual(drain(&schedule).count, 0, "time did not move")
    }
}
