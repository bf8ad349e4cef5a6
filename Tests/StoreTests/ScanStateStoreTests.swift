import DNSWire
import DelegationCore
import Foundation
import Store
import XCTest

final class ScanStateStoreTests: XCTestCase {
    let parent = try! DomainName("parent.")
    let child = try! DomainName("child.parent.")

    func testPutReplaceAndList() throws {
        let store = try SQLiteStore.inMemory()
        XCTAssertNil(try store.scanState(zone: parent, child: child))
        let observation = BootstrapObservation(ds: [[0, 1, 13, 2, 9]], firstSeen: 100, lastCounted: 200, scans: 2)
        try store.putScanState(ScanState(zone: parent, child: child, lastScanAt: 200, lastResult: "waiting", bootstrap: observation))
        XCTAssertEqual(
            try store.scanState(zone: parent, child: try DomainName("CHILD.Parent.")),
            ScanState(zone: parent, child: child, lastScanAt: 200, lastResult: "waiting", bootstrap: observation))
        try store.putScanState(ScanState(zone: parent, child: child, lastScanAt: 300, lastResult: "DS added"))
        XCTAssertEqual(try store.scanState(zone: parent, child: child), ScanState(zone: parent, child: child, lastScanAt: 300, lastResult: "DS added"))
        let other = try DomainName("other.")
        try store.putScanState(ScanState(zone: other, child: try DomainName("a.other."), lastScanAt: 1, lastResult: ""))
        XCTAssertEqual(try store.scanStates(zone: parent).map(\.child), [child])
        XCTAssertEqual(try store.scanStates(zone: nil).count, 2)
    }

    /// The multi-day observation survives a restart (a new store on the same file).
    func testStateSurvivesReopening() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scanstate-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("store.sqlite").path
        let observation = BootstrapObservation(ds: [[0, 1, 13, 2, 9]], firstSeen: 100, lastCounted: 100, scans: 1)
        try SQLiteStore(path: path).putScanState(ScanState(zone: parent, child: child, lastScanAt: 100, lastResult: "waiting", bootstrap: observation))
        XCTAssertEqual(try SQLiteStore(path: path).scanState(zone: parent, child: child)?.bootstrap, observation)
    }
}
