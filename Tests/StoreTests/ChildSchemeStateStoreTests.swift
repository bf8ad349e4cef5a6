import DNSWire
import Foundation
import Store
import XCTest

/// The child agent's last scheme per child: one row per child, replaced by each change sent,
/// found by name in any letter case, kept across a restart; its table is created on first use,
/// apart from the agent's schema.
final class ChildSchemeStateStoreTests: XCTestCase {
    let child = try! DomainName("child.parent.")

    func testPutReplaceAndReopen() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("childscheme-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("child.sqlite").path
        let store = try SQLiteStore(path: path)
        XCTAssertNil(try store.childSchemeState(child: child), "no table yet")
        let first = ChildSchemeState(
            child: child, scheme: "both", sentAt: 100, update: "REFUSED (EDE 18: no)", notify: "CDS: NOERROR\nCSYNC: NOERROR", warnings: "one\ntwo")
        try store.putChildSchemeState(first)
        XCTAssertEqual(try store.childSchemeState(child: try DomainName("CHILD.Parent.")), first)

        var second = ChildSchemeState(child: child, scheme: "notify", sentAt: 200)
        try store.putChildSchemeState(second)
        XCTAssertEqual(try store.childSchemeState(child: child), second, "replaced, no field of the first left")
        second.inStepAt = 260
        try store.putChildSchemeState(second)
        XCTAssertEqual(try SQLiteStore(path: path).childSchemeState(child: child), second)
        // The child's table is outside the agent's schema: a reader still finds that schema complete.
        XCTAssertEqual(try SQLiteStore.existing(readingAt: path)?.childSchemeState(child: child), second)
        XCTAssertNil(try store.childSchemeState(child: try DomainName("other.parent.")))
    }
}
