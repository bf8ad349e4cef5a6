@testable import Agent
import DNSWire
import DelegationCore
import NIOConcurrencyHelpers
import XCTest

/// The reader against a scripted primary: a referral is read as it is; an answer from a child
/// zone the primary also serves is never taken for the delegation — the parent zone is
/// transferred instead, and a refused or broken transfer is an error saying what to do.
final class PrimaryZoneReaderTests: XCTestCase {
    let child = try! DomainName("child.parent.")

    func zone() throws -> AgentConfiguration.Zone {
        try AgentConfiguration.parse(
            """
            version: 1
            zones:
              - name: parent.
                primary: { address: 192.0.2.53, port: 5300 }
                backend: { type: script, output: "-" }
            """
        ).zones[0]
    }

    /// What the primary has at the delegation in `parent.`.
    static let parentRecords = [
        "child.parent. 3600 IN NS ns1.child.parent.", "ns1.child.parent. 3600 IN A 192.0.2.1",
        "child.parent. 3600 IN DS 12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118F1A6C9A5C1E5E1D2E6A1A4C3",
    ]

    /// The child's apex, different from the delegation.
    static let apexRecords = ["child.parent. 3600 IN NS ns1.child.parent.", "child.parent. 3600 IN NS ns9.child.parent."]

    /// Answers `child NS` with a referral or (`cohosted`) from the child zone; DS from the parent.
    static func primary(cohosted: Bool) -> DNSExchange {
        { bytes, _, _, transport in
            XCTAssertEqual(transport, .tcp)
            let query = try Message(wire: bytes)
            var reply = query.makeResponse()
            switch query.question.first?.type {
            case .ns? where cohosted:
                reply.header.aa = true
                reply.answer = try apexRecords.map { try Record($0) }
                reply.additional = [try Record("ns9.child.parent. 3600 IN A 192.0.2.9")]
            case .ns?:
                reply.authority = [try Record(parentRecords[0])]
                reply.additional = [try Record(parentRecords[1])]
            case .ds?:
                reply.header.aa = true
                reply.answer = [try Record(parentRecords[2])]
            default:
                reply.header.aa = true
            }
            return try reply.wireFormat()
        }
    }

    /// A transfer that sends `messages` (each a list of answer records) for the request's ID,
    /// stopping where `isLast` says, as `DNSClient` does; counts its uses.
    static func transfer(_ messages: [[String]], rcode: RCode = .noError, used: NIOLockedValueBox<Int>) -> DNSTransfer {
        { request, _, _, isLast in
            used.withLockedValue { $0 += 1 }
            let query = try Message(wire: request)
            XCTAssertEqual(query.question.first?.type, .axfr)
            XCTAssertEqual(query.question.first?.name, try DomainName("parent."))
            var sent: [[UInt8]] = []
            for (index, records) in messages.enumerated() {
                var reply = query.makeResponse(rcode: rcode)
                reply.header.aa = true
                reply.answer = try records.map { try Record($0) }
                sent.append(try reply.wireFormat())
                if isLast(sent[index], index) { return sent }
            }
            throw ParentReadError(description: "the server closed the connection before the last message")
        }
    }

    static let soa = "parent. 3600 IN SOA ns1.parent. hostmaster.parent. 2024010101 3600 900 604800 300"

    func testAReferralIsTheDelegation() async throws {
        let used = NIOLockedValueBox(0)
        let reader = PrimaryZoneReader(exchange: Self.primary(cohosted: false), transfer: Self.transfer([], used: used))
        let snapshot = try await reader.delegation(in: try zone(), child: child)
        XCTAssertEqual(snapshot, try DelegationSnapshot(child: child, records: Self.parentRecords.map { try Record($0) }))
        XCTAssertEqual(used.withLockedValue { $0 }, 0, "a referral needs no transfer")
    }

    /// The child's apex in the answer: the delegation comes from the transferred parent zone
    /// (over two messages), never from the apex.
    func testAnAnswerFromTheChildZoneIsReadFromATransfer() async throws {
        let used = NIOLockedValueBox(0)
        let stream = [
            [Self.soa, "parent. 3600 IN NS ns1.parent.", "ns1.parent. 3600 IN A 192.0.2.53"],
            Self.parentRecords + ["other.parent. 3600 IN NS ns.other.example.", Self.soa],
        ]
        let reader = PrimaryZoneReader(exchange: Self.primary(cohosted: true), transfer: Self.transfer(stream, used: used))
        let snapshot = try await reader.delegation(in: try zone(), child: child)
        XCTAssertEqual(snapshot, try DelegationSnapshot(child: child, records: Self.parentRecords.map { try Record($0) }))
        XCTAssertEqual(used.withLockedValue { $0 }, 1)
        // A transfer without the child: not delegated.
        let without = PrimaryZoneReader(
            exchange: Self.primary(cohosted: true), transfer: Self.transfer([[Self.soa, "parent. 3600 IN NS ns1.parent.", Self.soa]], used: used))
        let none = try await without.delegation(in: try zone(), child: child)
        XCTAssertNil(none)
    }

    /// Refused, not a transfer, or no way to transfer: a ParentReadError naming the problem
    /// and the remedy.
    func testTransferProblemsAreErrors() async throws {
        let used = NIOLockedValueBox(0)
        let cases: [(String, DNSTransfer?)] = [
            ("it answered the zone transfer of parent. with NOTAUTH", Self.transfer([[]], rcode: .notAuth, used: used)),
            ("sent a zone transfer of parent. that is not one", Self.transfer([["parent. 3600 IN NS ns1.parent.", Self.soa]], used: used)),
            ("the zone transfer of parent. failed (the server closed the connection", Self.transfer([[Self.soa]], used: used)),
            ("this reader does not transfer zones", nil),
        ]
        for (problem, transfer) in cases {
            let reader = PrimaryZoneReader(exchange: Self.primary(cohosted: true), transfer: transfer)
            do {
                let snapshot = try await reader.delegation(in: try zone(), child: child)
                XCTFail("\(problem): took \(String(describing: snapshot))")
            } catch let error as ParentReadError {
                XCTAssertTrue(error.description.contains(problem), error.description)
                if !problem.contains("not one") {
                    XCTAssertTrue(error.description.hasPrefix("the primary 192.0.2.53 port 5300 also serves child.parent. as a zone"), error.description)
                    XCTAssertTrue(error.description.contains("or set zones[].primary to a server that serves parent. without child.parent."), error.description)
                }
            }
        }
    }

    /// The end of an AXFR answer (RFC 5936 §2.2).
    func testEndsTransfer() throws {
        func message(_ records: [String], rcode: RCode = .noError) throws -> [UInt8] {
            try Message(header: Header(), answer: records.map { try Record($0) }, rcode: rcode).wireFormat()
        }
        XCTAssertFalse(PrimaryZoneReader.endsTransfer(try message([Self.soa]), 0), "the opening SOA alone")
        XCTAssertFalse(PrimaryZoneReader.endsTransfer(try message([Self.soa, Self.parentRecords[0]]), 0))
        XCTAssertTrue(PrimaryZoneReader.endsTransfer(try message([Self.soa, Self.parentRecords[0], Self.soa]), 0), "the whole zone in one message")
        XCTAssertFalse(PrimaryZoneReader.endsTransfer(try message([Self.parentRecords[0]]), 1))
        XCTAssertTrue(PrimaryZoneReader.endsTransfer(try message([Self.parentRecords[0], Self.soa]), 1))
        XCTAssertTrue(PrimaryZoneReader.endsTransfer(try message([Self.soa]), 2), "the closing SOA alone")
        XCTAssertTrue(PrimaryZoneReader.endsTransfer(try message([], rcode: .refused), 0))
        XCTAssertTrue(PrimaryZoneReader.endsTransfer([0, 1, 2], 0), "a malformed message ends it")
    }

    /// The child's SOA in the authority section also shows the primary has the child zone.
    func testAnswersFromChildZone() throws {
        var negative = Message()
        negative.authority = [try Record("child.parent. 3600 IN SOA ns1.child.parent. h.child.parent. 1 3600 900 604800 300")]
        XCTAssertTrue(PrimaryZoneReader.answersFromChildZone(negative, child: child))
        var referral = Message()
        referral.authority = [try Record(Self.parentRecords[0])]
        XCTAssertFalse(PrimaryZoneReader.answersFromChildZone(referral, child: child))
        var apex = Message()
        apex.answer = try Self.apexRecords.map { try Record($0) }
        XCTAssertTrue(PrimaryZoneReader.answersFromChildZone(apex, child: child))
    }

    /// Issue 15, item 4: the check after a commit reads only what the change touched — a DS
    /// change asks only `child DS`, an NS change `child NS` (with its glue) — and a whole read
    /// still asks all three.
    func testReadOfSomePartsAsksOnlyTheirQueries() async throws {
        let asked = NIOLockedValueBox<[RRType]>([])
        let primary = Self.primary(cohosted: false)
        let reader = PrimaryZoneReader(exchange: { bytes, host, port, transport in
            asked.withLockedValue { $0.append(try! Message(wire: bytes).question[0].type) }
            return try await primary(bytes, host, port, transport)
        })
        let zone = try zone()
        let ds = try await reader.delegation(in: zone, child: child, parts: .ds)
        XCTAssertEqual(asked.withLockedValue { $0 }, [.ds])
        XCTAssertEqual(ds?.ds.count, 1)
        XCTAssertEqual(ds?.nameservers, [])
        asked.withLockedValue { $0 = [] }
        let ns = try await reader.delegation(in: zone, child: child, parts: .nameservers)
        XCTAssertEqual(asked.withLockedValue { $0 }, [.ns])
        XCTAssertEqual(ns?.nameservers, [try DomainName("ns1.child.parent.")])
        XCTAssertEqual(ns?.glue.count, 1)
        XCTAssertEqual(ns?.ds, [])
        asked.withLockedValue { $0 = [] }
        let whole = try await reader.delegation(in: zone, child: child)
        XCTAssertEqual(Set(asked.withLockedValue { $0 }), [.ns, .ds, .key])
        XCTAssertEqual(whole, try DelegationSnapshot(child: child, records: Self.parentRecords.map { try Record($0) }))
        XCTAssertEqual(DelegationSnapshot.Parts(touchedBy: [.add(try Record(Self.parentRecords[2]))]), .ds)
        XCTAssertEqual(DelegationSnapshot.Parts(touchedBy: [.delete(try Record(Self.parentRecords[1]))]), .nameservers)
        XCTAssertEqual(DelegationSnapshot.Parts(touchedBy: [.deleteName(child)]), .all)
    }
}
