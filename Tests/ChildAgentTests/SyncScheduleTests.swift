import ChildAgent
import DNSWire
import XCTest

/// The watch mode's timing rules, on a simulated clock: start-up syncs, debounce after NOTIFY
/// (restarted by further NOTIFYs), the interval, and no overlapping syncs of one child.
final class SyncScheduleTests: XCTestCase {
    let start = ContinuousClock.now
    let child = try! DomainName("child.parent.")
    let other = try! DomainName("other.parent.")

    func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    /// A schedule whose start-up syncs of both children ran from 0 to 1.
    func synced(debounce: Int = 5, interval: Int = 3600) -> SyncSchedule {
        var schedule = SyncSchedule(children: [child, other], debounce: .seconds(debounce), interval: .seconds(interval), now: at(0))
        _ = schedule.takeDue(at: at(0))
        schedule.finished(child, at: at(1))
        schedule.finished(other, at: at(1))
        return schedule
    }

    func testEveryChildIsDueAtStartThenWaitsForTheInterval() {
        var schedule = SyncSchedule(children: [child, other], debounce: .seconds(5), interval: .seconds(60), now: at(0))
        XCTAssertEqual(schedule.nextDeadline, at(0))
        XCTAssertEqual(schedule.takeDue(at: at(0)), [.init(child: child, reason: .startup), .init(child: other, reason: .startup)])
        XCTAssertEqual(schedule.running, [child, other])
        XCTAssertNil(schedule.nextDeadline, "every child is running")
        schedule.finished(child, at: at(2))
        schedule.finished(other, at: at(3))
        XCTAssertEqual(schedule.nextDeadline, at(62))
        XCTAssertEqual(schedule.takeDue(at: at(61)), [])
        XCTAssertEqual(schedule.takeDue(at: at(62)), [.init(child: child, reason: .interval)])
        XCTAssertEqual(schedule.takeDue(at: at(63)), [.init(child: other, reason: .interval)])
    }

    func testNotifyIsDueAfterTheDebounce() {
        var schedule = synced()
        XCTAssertTrue(schedule.notified(child, at: at(10)))
        XCTAssertEqual(schedule.nextDeadline, at(15))
        XCTAssertEqual(schedule.takeDue(at: at(14)), [])
        XCTAssertEqual(schedule.takeDue(at: at(15)), [.init(child: child, reason: .notify)])
        schedule.finished(child, at: at(16))
        XCTAssertEqual(schedule.takeDue(at: at(30)), [], "the NOTIFY was consumed by that sync")
    }

    func testFurtherNotifiesRestartTheWait() {
        var schedule = synced()
        schedule.notified(child, at: at(10))
        schedule.notified(child, at: at(13))
        XCTAssertEqual(schedule.takeDue(at: at(15)), [], "the second NOTIFY restarted the wait")
        schedule.notified(child, at: at(17))
        XCTAssertEqual(schedule.nextDeadline, at(22))
        XCTAssertEqual(schedule.takeDue(at: at(21)), [])
        XCTAssertEqual(schedule.takeDue(at: at(22)), [.init(child: child, reason: .notify)], "one sync for the whole burst")
        XCTAssertEqual(schedule.takeDue(at: at(40)), [])
    }

    func testANotifyForOneChildLeavesTheOtherAlone() {
        var schedule = synced()
        schedule.notified(other, at: at(10))
        XCTAssertEqual(schedule.takeDue(at: at(15)), [.init(child: other, reason: .notify)])
        XCTAssertFalse(schedule.isRunning(child))
        XCTAssertTrue(schedule.isRunning(other))
    }

    func testZeroDebounceSyncsAtOnce() {
        var schedule = synced(debounce: 0)
        schedule.notified(child, at: at(10))
        XCTAssertEqual(schedule.takeDue(at: at(10)), [.init(child: child, reason: .notify)])
    }

    func testUnknownChildIsIgnored() throws {
        var schedule = synced()
        let before = schedule
        XCTAssertFalse(schedule.notified(try DomainName("unknown.example."), at: at(10)))
        schedule.finished(try DomainName("unknown.example."), at: at(10))
        XCTAssertEqual(schedule, before)
    }

    func testARunningChildIsNeverDueAgain() {
        var schedule = synced(debounce: 5, interval: 60)
        schedule.notified(child, at: at(10))
        XCTAssertEqual(schedule.takeDue(at: at(15)), [.init(child: child, reason: .notify)])
        // The sync runs long: neither a NOTIFY nor the interval starts a second one.
        schedule.notified(child, at: at(20))
        XCTAssertEqual(schedule.takeDue(at: at(25)), [])
        XCTAssertEqual(schedule.takeDue(at: at(100)), [.init(child: other, reason: .interval)])
        XCTAssertEqual(schedule.takeDue(at: at(200)), [])
        // When it ends, the NOTIFY that came meanwhile (its quiet time long over) syncs again.
        schedule.finished(child, at: at(201))
        XCTAssertEqual(schedule.nextDeadline, at(25))
        XCTAssertEqual(schedule.takeDue(at: at(201)), [.init(child: child, reason: .notify)])
    }

    func testWithoutANotifyDuringTheSyncTheIntervalCountsFromItsEnd() {
        var schedule = synced(debounce: 5, interval: 60)
        schedule.notified(child, at: at(10))
        _ = schedule.takeDue(at: at(15))
        schedule.finished(child, at: at(40))
        XCTAssertEqual(schedule.takeDue(at: at(99)).filter { $0.child == child }, [])
        XCTAssertEqual(schedule.takeDue(at: at(100)), [.init(child: child, reason: .interval)])
    }

    func testTheIntervalBoundsANotifyStorm() {
        var schedule = synced(debounce: 5, interval: 60)
        var due: [SyncSchedule.Due] = []
        for second in stride(from: 10, through: 90, by: 3) {
            schedule.notified(child, at: at(second))
            due += schedule.takeDue(at: at(second)).filter { $0.child == child }
        }
        XCTAssertEqual(due, [.init(child: child, reason: .interval)], "synced once the interval was over, at 61")
    }

    func testReconfigureKeepsStateAddsAndDrops() throws {
        var schedule = synced(debounce: 5, interval: 60)
        let added = try DomainName("new.parent.")
        schedule.notified(child, at: at(10))
        _ = schedule.takeDue(at: at(0))
        schedule.reconfigure(children: [child, added], debounce: .seconds(2), interval: .seconds(30), now: at(11))
        XCTAssertEqual(schedule.children, [child, added])
        XCTAssertEqual(schedule.takeDue(at: at(11)), [.init(child: added, reason: .startup)])
        XCTAssertEqual(schedule.takeDue(at: at(14)), [], "the pending NOTIFY's wait keeps its end")
        XCTAssertEqual(schedule.takeDue(at: at(15)), [.init(child: child, reason: .notify)])
        schedule.finished(child, at: at(15))
        schedule.notified(child, at: at(20))
        XCTAssertEqual(schedule.nextDeadline, at(22), "the new debounce")
        _ = schedule.takeDue(at: at(22))
        schedule.finished(other, at: at(23))
        XCTAssertFalse(schedule.children.contains(other))
        schedule.finished(child, at: at(24))
        schedule.finished(added, at: at(24))
        XCTAssertEqual(schedule.takeDue(at: at(53)), [])
        XCTAssertEqual(schedule.takeDue(at: at(54)), [.init(child: child, reason: .interval), .init(child: added, reason: .interval)], "the new interval")
    }

    func testReconfigureKeepsARunningSync() {
        var schedule = synced()
        schedule.notified(child, at: at(10))
        XCTAssertEqual(schedule.takeDue(at: at(15)).map(\.child), [child])
        schedule.reconfigure(children: [child, other], debounce: .seconds(5), interval: .seconds(3600), now: at(16))
        XCTAssertTrue(schedule.isRunning(child))
        schedule.notified(child, at: at(17))
        XCTAssertEqual(schedule.takeDue(at: at(30)), [], "still running after the reload")
    }
}
