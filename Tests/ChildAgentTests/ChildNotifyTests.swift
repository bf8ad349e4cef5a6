import ChildAgent
import DNSWire
import NIOConcurrencyHelpers
import Store
import TestSupport
import Transport
import XCTest

/// `delegsync child notify`: DSYNC discovery of the NOTIFY scheme for the type, the NOTIFY sent
/// as RFC 9859 §4 describes it, the answer acted on and logged.
final class ChildNotifyTests: XCTestCase {
    static let resolver = "192.0.2.53"
    var resolver: String { Self.resolver }

    func synchronizer(_ lookup: ScriptedLookup, target: String = "") throws -> (ChildSynchronizer, SQLiteStore) {
        let configuration = try ChildConfiguration.parse(
            """
            version: 1
            resolver: { address: \(resolver) }
            children:
              - name: child.parent.
                primary: { address: 192.0.2.1 }
                \(target)
            """)
        let store = try SQLiteStore.inMemory()
        return (ChildSynchronizer(configuration: configuration, child: configuration.children[0], store: store, lookup: lookup), store)
    }

    /// Both schemes published: CDS goes to the NOTIFY record for CDS, not to the UPDATE receiver.
    var published: ScriptedLookup {
        ScriptedLookup([
            "\(resolver) child._dsync.parent. DSYNC": .records(
                "child._dsync.parent. 300 IN DSYNC ANY UPDATE 5302 updater.parent.", "child._dsync.parent. 300 IN DSYNC CDS NOTIFY 5303 scanner.parent.",
                "child._dsync.parent. 300 IN DSYNC CSYNC NOTIFY 5304 scanner.parent."),
            "\(resolver) scanner.parent. A": .records("scanner.parent. 300 IN A 192.0.2.81"),
            "\(resolver) scanner.parent. AAAA": .records(),
        ])
    }

    /// A fake parent: answers each NOTIFY with `rcode` (and an EDE), remembering what it got.
    static func parent(_ rcode: RCode, silentAt: String? = nil) -> (NotifySend, NIOLockedValueBox<[(Message, String, Int, DNSTransportKind)]>) {
        let got = NIOLockedValueBox<[(Message, String, Int, DNSTransportKind)]>([])
        let send: NotifySend = { bytes, host, port, transport in
            let message = try Message(wire: bytes)
            got.withLockedValue { $0.append((message, host, port, transport)) }
            if host == silentAt { throw DNSLookupError(.noAnswer, server: NameserverAddress(host, port: port), question: "", detail: "timeout") }
            var reply = message.makeResponse(rcode: rcode)
            reply.edns = EDNS(options: rcode == .noError ? [] : [ExtendedDNSError(infoCode: 15, extraText: "NOTIFY rate limit").option])
            return try reply.wireFormat()
        }
        return (send, got)
    }

    func testNotifyCDSGoesToTheNotifyTargetForCDS() async throws {
        let (synchronizer, store) = try synchronizer(published)
        let (send, got) = Self.parent(.noError)
        let reply = try await synchronizer.notify(type: .cds, send: send)
        XCTAssertEqual(reply.rcode, .noError)
        let sent = try XCTUnwrap(got.withLockedValue { $0 }.first)
        XCTAssertEqual(sent.0.opcode, .notify)
        XCTAssertTrue(sent.0.header.aa)
        XCTAssertEqual(sent.0.question, [Question(name: try DomainName("child.parent."), type: .cds)])
        XCTAssertEqual([sent.1, String(sent.2)], ["192.0.2.81", "5303"])
        XCTAssertEqual(sent.3, .udp)
        let logged = try XCTUnwrap(store.audit(child: try DomainName("child.parent."), limit: 1).first)
        XCTAssertEqual(logged.transport, "notify")
        XCTAssertEqual(logged.decision, "NOERROR")

        let (csyncSend, csyncGot) = Self.parent(.noError)
        _ = try await synchronizer.notify(type: .csync, send: csyncSend)
        XCTAssertEqual(csyncGot.withLockedValue { $0 }.first?.2, 5304)
    }

    func testRefusalIsAnErrorWithTheParentsReason() async throws {
        let (synchronizer, _) = try synchronizer(published)
        let (send, _) = Self.parent(.refused)
        do {
            _ = try await synchronizer.notify(type: .cds, send: send)
            XCTFail("a refusal must throw")
        } catch let error as ChildAgentError {
            XCTAssertEqual(error.code, .refused)
            XCTAssertTrue(error.detail.contains("NOTIFY rate limit"), error.detail)
        }
    }

    func testNoAnswerIsRetriedThenUnreachable() async throws {
        let (synchronizer, _) = try synchronizer(ScriptedLookup(), target: "target: { address: 192.0.2.90, port: 5302 }")
        let (send, got) = Self.parent(.noError, silentAt: "192.0.2.90")
        do {
            _ = try await synchronizer.notify(type: .cds, attempts: 2, send: send)
            XCTFail("no answer must throw")
        } catch let error as ChildAgentError {
            XCTAssertEqual(error.code, .unreachable)
        }
        XCTAssertEqual(got.withLockedValue { $0 }.count, 2, "one try per attempt")
    }

    func testOnlyGeneralizedNotifyTypes() async throws {
        let (synchronizer, _) = try synchronizer(published)
        do {
            _ = try await synchronizer.notify(type: .soa, send: Self.parent(.noError).0)
            XCTFail("NOTIFY(SOA) is not for the parent")
        } catch let error as ChildAgentError {
            XCTAssertEqual(error.code, .configuration)
        }
    }
}
