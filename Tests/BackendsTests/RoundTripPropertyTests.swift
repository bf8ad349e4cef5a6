import Backends
import DNSWire
import DelegationCore
import Foundation
import TestSupport
import XCTest

/// Issue 11, point 3: every backend's writer and reader round-trip every name and RDATA the
/// policy lets through. Seeded deltas (``DelegationDeltaGenerator``); for each one the standard
/// policy accepts:
///
/// - the NSD fragment (``ZoneFragment``) is written and read back to exactly the same records,
///   holds exactly the delegation the policy computed, and `nsd-checkzone` loads it;
/// - the nsupdate text (``NSUpdateScript``, what the nsupdate backend pipes) is read by BIND's
///   `nsupdate` and Knot's `knsupdate`, which send exactly our UPDATE;
/// - the script backend's output, fed to `nsupdate`, gives exactly our UPDATE too.
///
/// "Exactly" means names octet for octet (case included), TTLs, classes and RDATA.
final class RoundTripPropertyTests: XCTestCase {
    static let seed: UInt64 = 0x11_2026_0001
    static let cases = 300

    /// The accepted deltas of the seed, and how many were refused by which rule.
    static func acceptedDeltas(seed: UInt64 = seed, count: Int = cases) -> (deltas: [DelegationDelta], refusals: [String: Int]) {
        var generator = DelegationDeltaGenerator(seed: seed)
        let engine = DelegationPolicyEngine.standard()
        var deltas: [DelegationDelta] = []
        var refusals: [String: Int] = [:]
        while deltas.count < count {
            let delta = generator.next()
            switch engine.evaluate(delta.request) {
            case .accept: deltas.append(delta)
            case .reject(let violation): refusals[violation.rule, default: 0] += 1
            }
        }
        return (deltas, refusals)
    }

    /// A record as octets: owner (case kept), type, class, TTL, RDATA.
    static func exact(_ record: Record) -> [UInt8] { record.wire }

    static func exact(_ operation: Update.Operation) -> [UInt8] {
        switch operation {
        case .add(let r): return [0] + exact(r)
        case .delete(var r):
            r.ttl = 0
            return [1] + exact(r)
        case .deleteRRset(let n, let t): return [2] + n.wire + [UInt8(t.rawValue >> 8), UInt8(t.rawValue & 0xFF)]
        case .deleteName(let n): return [3] + n.wire
        }
    }

    static func exact(_ prerequisite: Update.Prerequisite, zoneClass: RRClass) -> [UInt8] {
        func type(_ t: RRType) -> [UInt8] { [UInt8(t.rawValue >> 8), UInt8(t.rawValue & 0xFF)] }
        switch prerequisite {
        case .rrsetExists(let n, let t): return [0] + n.wire + type(t)
        case .rrsetEquals(var r):
            r.ttl = 0
            r.rrClass = zoneClass
            return [1] + exact(r)
        case .rrsetDoesNotExist(let n, let t): return [2] + n.wire + type(t)
        case .nameInUse(let n): return [3] + n.wire
        case .nameNotInUse(let n): return [4] + n.wire
        }
    }

    static func assertSameUpdate(_ sent: Update, _ expected: Update, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(sent.zone.wire, expected.zone.wire, context, file: file, line: line)
        XCTAssertEqual(
            sent.prerequisites.map { exact($0, zoneClass: sent.zoneClass) }, expected.prerequisites.map { exact($0, zoneClass: expected.zoneClass) },
            "prerequisites: \(context)", file: file, line: line)
        let got = sent.operations.map(exact)
        let want = expected.operations.map(exact)
        if got != want {
            let sentText = sent.operations.map(\.description).joined(separator: "\n")
            XCTFail("operations differ: \(context)\nsent:\n\(sentText)", file: file, line: line)
        }
    }

    /// The generator is deterministic, and its deltas cover what the issue asks for.
    func testGeneratorCoversTheCases() throws {
        let (deltas, refusals) = Self.acceptedDeltas()
        let again = Self.acceptedDeltas().deltas
        XCTAssertEqual(deltas.map(\.update), again.map(\.update), "same seed, same deltas")
        let operations = deltas.flatMap(\.update.operations)
        let added = operations.compactMap { operation -> Record? in
            guard case .add(let record) = operation else { return nil }
            return record
        }
        let nsNames = added.filter { $0.type == .ns }.compactMap { try? DomainName.read(from: $0.rdata, at: 0).name }
        XCTAssertTrue(nsNames.contains { $0.description.contains(where: \.isUppercase) }, "upper case")
        XCTAssertTrue(nsNames.contains { $0.description.contains(where: \.isNumber) }, "digits")
        XCTAssertTrue(nsNames.contains { $0.description.contains("-") }, "hyphens")
        XCTAssertTrue(nsNames.contains { $0.labels.contains { $0.count == 63 } } || added.contains { $0.name.labels.contains { $0.count > 40 } }, "long labels")
        XCTAssertTrue(added.contains { $0.type == .a } && added.contains { $0.type == .aaaa }, "glue of both families")
        for digestType: UInt8 in [2, 4] { XCTAssertTrue(added.contains { $0.type == .ds && $0.rdata[3] == digestType }, "DS digest type \(digestType)") }
        XCTAssertTrue(operations.contains { if case .delete(let r) = $0 { r.type == .ds && r.rdata[3] == 1 } else { false } }, "SHA-1 DS deleted")
        for form in ["add", "delete", "deleteRRset", "deleteName"] {
            XCTAssertTrue(operations.contains { "\($0)".hasPrefix(form == "add" ? "add" : "delete") }, form)
        }
        XCTAssertTrue(operations.contains { if case .deleteName = $0 { true } else { false } })
        XCTAssertTrue(operations.contains { if case .deleteRRset = $0 { true } else { false } })
        let sizes = deltas.compactMap(\.request.result?.nameservers.count)
        XCTAssertEqual(sizes.min(), 1)
        XCTAssertEqual(sizes.max(), 13)
        XCTAssertTrue(deltas.contains { !$0.update.prerequisites.isEmpty })
        // The hostile names and malformed DS the generator mixes in are refused, never passed on.
        XCTAssertGreaterThan(refusals["ns-not-hostname", default: 0] + refusals["glue-not-hostname", default: 0], 0, "\(refusals)")
        for rule in ["ds-digest-type", "ds-malformed", "glue-malformed", "malformed-ns"] {
            XCTAssertGreaterThan(refusals[rule, default: 0], 0, "\(rule): \(refusals)")
        }
        print("round-trip generator: \(deltas.count) accepted; refused by rule: \(refusals.sorted { $0.key < $1.key })")
    }

    // MARK: NSD fragment

    func testZoneFragmentRoundTrips() throws {
        let checkzone = Tool.find("nsd-checkzone")
        let directory = try Tool.temporaryDirectory("fragment-roundtrip")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var checked = 0
        for (index, delta) in Self.acceptedDeltas().deltas.enumerated() {
            let context = "case \(index): \(delta)"
            let request = delta.request
            var fragment = ZoneFragment(zone: delta.zone, records: delta.current.records)
            // The parent's TTL for delegation data, as the receiver hands the change on.
            let update = Update(zone: delta.zone, prerequisites: request.prerequisites, operations: request.operations(ttl: 7200))
            XCTAssertNoThrow(try fragment.apply(update), context)
            let text = fragment.text
            let reread: ZoneFragment
            do {
                reread = try ZoneFragment(zone: delta.zone, text: text)
            } catch {
                XCTFail("the fragment does not read back: \(error)\n\(context)\n\(text)")
                continue
            }
            XCTAssertEqual(reread.records.map(Self.exact), fragment.records.map(Self.exact), "\(context)\n\(text)")
            XCTAssertEqual(reread.text, text, context)
            // What the file holds is what the policy judged.
            let held = try DelegationSnapshot(child: delta.child, records: reread.records)
            XCTAssertEqual(held, request.result, "\(context)\n\(text)")

            if let checkzone, index % 5 == 0 {
                let zoneText = """
                    $ORIGIN \(delta.zone)
                    $TTL 3600
                    @ IN SOA ns.operator.invalid. hostmaster.operator.invalid. 1 3600 900 604800 300
                    @ IN NS ns.operator.invalid.
                    $INCLUDE \(directory)/fragment.zone

                    """
                try text.write(toFile: "\(directory)/fragment.zone", atomically: false, encoding: .utf8)
                try zoneText.write(toFile: "\(directory)/zone.db", atomically: false, encoding: .utf8)
                let result = try Tool.run(checkzone, [delta.zone.description, "\(directory)/zone.db"])
                XCTAssertEqual(result.status, 0, "nsd-checkzone: \(result.stdout)\(result.stderr)\n\(context)\n\(text)")
                checked += 1
            }
        }
        print("fragment round trip: \(Self.cases) deltas, \(checked) loaded by nsd-checkzone")
    }

    // MARK: nsupdate text

    /// Feeds `script` to `tool` (TCP to a capture listener) and returns the UPDATEs it sent.
    func updatesSent(by tool: String, script: (UInt16) -> String, count: Int) throws -> [Update] {
        let listener = try CaptureListener(tcp: true)
        let running = try RunningTool(tool, ["-v", "-t", "5"], input: script(listener.port))
        let captured = listener.receiveTCP(count: count, idle: 5)
        let (status, stderr) = running.finish(terminate: captured.count < count)
        XCTAssertEqual(captured.count, count, "\(tool) stopped after \(captured.count) UPDATEs: \(stderr)")
        XCTAssertEqual(status, 0, "\(tool): \(stderr)")
        return try captured.map { try Update(message: Message(wire: $0)) }
    }

    func tools() throws -> [String] {
        let tools = ["nsupdate", "knsupdate"].compactMap(Tool.find)
        guard !tools.isEmpty else { throw XCTSkip("neither nsupdate nor knsupdate is installed") }
        return tools
    }

    /// What the nsupdate backend pipes (with a `server` line), read by nsupdate and knsupdate.
    func testNSUpdateTextRoundTrips() throws {
        let deltas = Self.acceptedDeltas().deltas
        let updates = deltas.map { Update(zone: $0.zone, prerequisites: $0.update.prerequisites, operations: $0.request.operations(ttl: 86400)) }
        for tool in try tools() {
            let sent = try updatesSent(
                by: tool, script: { port in updates.map { NSUpdateScript(update: $0, server: ("127.0.0.1", port)).text }.joined() }, count: updates.count)
            if sent.count < updates.count {
                XCTFail("\(tool) did not send case \(sent.count): \(deltas[sent.count])\n\(NSUpdateScript(update: updates[sent.count]).text)")
            }
            for (index, (got, want)) in zip(sent, updates).enumerated() {
                Self.assertSameUpdate(got, want, "\(tool), case \(index): \(deltas[index])\n\(NSUpdateScript(update: want).text)")
            }
        }
    }

    /// The script backend's output (the operator's command reads the same text) is what
    /// ``NSUpdateScript`` renders, and nsupdate reads it back to the same UPDATEs. TTLs are the
    /// child's here: the script backend passes whatever it is given.
    func testScriptBackendOutputRoundTrips() async throws {
        let deltas = Self.acceptedDeltas().deltas
        let directory = try Tool.temporaryDirectory("script-roundtrip")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/changes.txt"
        let backend = ScriptBackend(command: nil, outputPath: path)
        for delta in deltas { try await backend.apply(delta.update) }
        let written = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(written, deltas.map { NSUpdateScript(update: $0.update).text }.joined())
        guard let nsupdate = Tool.find("nsupdate") else { throw XCTSkip("nsupdate is not installed") }
        let sent = try updatesSent(by: nsupdate, script: { "server 127.0.0.1 \($0)\n" + written }, count: deltas.count)
        if sent.count < deltas.count {
            XCTFail("nsupdate did not send case \(sent.count): \(deltas[sent.count])\n\(NSUpdateScript(update: deltas[sent.count].update).text)")
        }
        for (index, (got, delta)) in zip(sent, deltas).enumerated() {
            Self.assertSameUpdate(got, delta.update, "case \(index): \(delta)")
        }
    }
}
