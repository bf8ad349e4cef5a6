import Backends
import Foundation
import XCTest

/// The one way delegsync runs a program (nsupdate, knsupdate, nsd-control, an operator's
/// script or confirmation command): an argument vector, text on stdin, output captured and
/// bounded, a time limit after which the program is stopped.
final class ExternalCommandTests: XCTestCase {
    func testInputReachesTheCommandAndOutputComesBack() async throws {
        let result = try await ExternalCommand(["cat"]).run(input: "update add x\n")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "update add x\n")
        XCTAssertFalse(result.timedOut)
    }

    func testExitStatusAndStandardError() async throws {
        let result = try await ExternalCommand(["/bin/sh", "-c", "echo out; echo 'bad thing' >&2; exit 3"]).run()
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.output, "out\nbad thing")
    }

    /// A command that exits without reading a large input must not take the agent down
    /// (SIGPIPE) nor hide its exit status.
    func testCommandThatIgnoresItsInput() async throws {
        let input = String(repeating: "update add child.parent. 3600 NS ns.example.\n", count: 20_000)
        let result = try await ExternalCommand(["/bin/sh", "-c", "exit 0"]).run(input: input)
        XCTAssertEqual(result.status, 0)
        let failing = try await ExternalCommand(["/bin/sh", "-c", "exit 4"]).run(input: input)
        XCTAssertEqual(failing.status, 4)
    }

    func testTimeLimitStopsTheCommand() async throws {
        let started = Date()
        let result = try await ExternalCommand(["sleep", "30"], timeLimit: 0.5).run()
        XCTAssertTrue(result.timedOut)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    /// A command that ignores SIGTERM is killed after the grace period.
    func testTimeLimitKillsACommandIgnoringSIGTERM() async throws {
        let started = Date()
        let result = try await ExternalCommand(["/bin/sh", "-c", "trap '' TERM; sleep 30"], timeLimit: 0.5).run()
        XCTAssertTrue(result.timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    func testMissingCommandIsNamed() async throws {
        do {
            _ = try await ExternalCommand(["no-such-command-here"]).run()
            XCTFail("ran a command that does not exist")
        } catch {
            XCTAssertTrue("\(error)".contains("no-such-command-here: command not found"), "\(error)")
        }
    }

    /// Output is bounded: a command that prints without end cannot exhaust the agent's memory.
    func testOutputIsBounded() async throws {
        do {
            let result = try await ExternalCommand(["/bin/sh", "-c", "head -c 5000000 /dev/zero"], timeLimit: 20).run()
            XCTFail("5 MB of output accepted (status \(result.status), \(result.stdout.utf8.count) bytes)")
        } catch {
            XCTAssertTrue("\(error)".contains("more than"), "\(error)")
        }
    }
}
