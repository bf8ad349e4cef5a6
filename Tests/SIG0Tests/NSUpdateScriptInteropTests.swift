import DNSWire
import Foundation
import TestSupport
import XCTest

/// The nsupdate text delegsync renders is read by BIND's `nsupdate` and Knot's `knsupdate`:
/// each tool turns it into an UPDATE on the wire, which must carry exactly our operations.
final class NSUpdateScriptInteropTests: XCTestCase {
    func sampleUpdate() throws -> Update {
        var update = Update(zone: try DomainName("parent."))
        update.requireNameInUse(try DomainName("child.parent."))
        update.deleteRRset(try DomainName("child.parent."), .ns)
        update.add(try Record("child.parent. 3600 IN NS ns1.child.parent."))
        update.add(try Record("child.parent. 3600 IN NS ns.provider.example."))
        update.add(try Record("ns1.child.parent. 3600 IN A 192.0.2.1"))
        update.add(try Record("ns1.child.parent. 3600 IN AAAA 2001:db8::53"))
        update.delete(try Record("child.parent. 0 IN DS 12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE8C4A3D2D4F9B1F2C7C2C3F1A"))
        update.add(try Record("child.parent. 3600 IN DS 23456 15 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE8C4A3D2D4F9B1F2C7C2C3F1B"))
        update.add(try Record("child.parent. 3600 IN KEY 512 3 15 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="))
        update.add(try Record("_dsync.parent. 3600 IN DSYNC ANY UPDATE 5302 updater.parent."))
        update.deleteName(try DomainName("old.child.parent."))
        return update
    }

    func testEmptyUpdateRendersNothing() throws {
        XCTAssertEqual(NSUpdateScript(update: Update(zone: try DomainName("parent."))).text, "")
    }

    func testToolsSendExactlyOurOperations() throws {
        let tools = [("nsupdate", [String]()), ("knsupdate", [String]())].compactMap { name, args in Tool.find(name).map { ($0, args) } }
        guard !tools.isEmpty else { throw XCTSkip("neither nsupdate nor knsupdate is installed") }
        let update = try sampleUpdate()
        for (tool, arguments) in tools {
            let listener = try CaptureListener(tcp: false)
            let script = NSUpdateScript(update: update, server: ("127.0.0.1", listener.port)).text
            let running = try RunningTool(tool, arguments, input: script)
            let captured = try listener.receiveOne()
            let (status, stderr) = running.finish()
            XCTAssertEqual(status, 0, "\(tool): \(stderr)\n\(script)")
            let sent = try Update(message: Message(wire: captured))
            XCTAssertEqual(sent.zone, update.zone, tool)
            XCTAssertEqual(sent.prerequisites, update.prerequisites, tool)
            XCTAssertEqual(sent.operations, update.operations, "\(tool) sent:\n\(sent.operations.map(\.description).joined(separator: "\n"))")
        }
    }
}
