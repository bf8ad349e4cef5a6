import Agent
import DNSWire
import DelegationCore
import Logging
import SIG0
import Store
import Transport
import XCTest

// MARK: - The self-signed key upload (DDNS draft): TCP only, verified with the key it carries,
// stored as known with a persisted bootstrap job, never displacing the trusted key.
extension UpdateReceiverTests {
    func upload(
        _ keyFile: BINDKeyFile, keyState: Bool = false, asking: KeyStateOption.State = .requestAutoBootstrap, at time: Int64? = nil
    ) throws -> [UInt8] {
        var update = Update(zone: zoneName)
        update.deleteRRset(child, .key)
        update.add(keyFile.record)
        let edns = EDNS(options: keyState ? [KeyStateOption(keyID: keyFile.keyTag, state: asking).option()] : [])
        return try SIG0Signer(keyFile: keyFile).sign(update.message(id: 5, edns: edns).wireFormat(), now: UInt32(time ?? now))
    }

    func testUploadOverTCPStartsABootstrapJob() async throws {
        let newKey = try BINDKeyFile.generate(owner: child)
        let reply = try await send(upload(newKey, keyState: true))
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(reply.edns?.keyState()?.state, .bootstrapAutoOngoing)
        XCTAssertEqual(reply.edns?.keyState()?.keyID, newKey.keyTag)
        let stored = try XCTUnwrap(store.key(zone: zoneName, child: child, keyTag: newKey.keyTag, algorithm: 15))
        XCTAssertEqual(stored.state, .known)
        // The old key is still trusted and still works.
        XCTAssertEqual(try store.key(zone: zoneName, child: child, keyTag: key.keyTag, algorithm: 15)?.state, .trusted)
        let jobs = try store.bootstraps(child: child, activeOnly: true)
        XCTAssertEqual(jobs.count, 1)
        XCTAssertEqual(jobs.first?.keyTag, newKey.keyTag)
        XCTAssertEqual(jobs.first?.source, "127.0.0.1 (TCP)")
        XCTAssertEqual(jobs.first?.nextActionPreview(now: now), .runRound(1))
        // An UPDATE signed by the known-but-untrusted key is refused with the draft's EDE.
        let untrusted = try SIG0Signer(keyFile: newKey).sign(update([.add(try Record("child.parent. 60 IN NS ns.x.net."))]), now: UInt32(now + 1))
        let refused = try await send(untrusted)
        XCTAssertEqual(refused.rcode, .refused)
        XCTAssertEqual(refused.edns?.extendedError?.infoCode, DelegationEDE.keyKnownNotTrusted)
    }

    /// A child asking for manual bootstrap (KeyState 1) gets a job that waits for the operator
    /// from the start, with no rounds, and state 10; the reply names the methods offered.
    func testManualBootstrapRequested() async throws {
        let newKey = try BINDKeyFile.generate(owner: child)
        let reply = try await send(upload(newKey, keyState: true, asking: .requestManualBootstrap))
        XCTAssertEqual(reply.rcode, .noError)
        XCTAssertEqual(reply.edns?.keyState()?.state, .bootstrapManualRequired)
        XCTAssertTrue(reply.edns?.keyState()?.extraText.contains("bootstrap methods offered: unsigned, manual") == true, "\(String(describing: reply.edns))")
        var job = try XCTUnwrap(store.bootstraps(child: child, activeOnly: true).first)
        XCTAssertEqual(job.method, .manual)
        XCTAssertEqual(job.state, .awaitingConfirmation)
        XCTAssertEqual(job.approve(now: now + 5), .promote)
    }

    /// A parent that offers only manual bootstrap turns an automatic request into a manual job
    /// and says so; one that offers nothing refuses uploads and says that too.
    func testOfferedMethodsDecide() async throws {
        for (methods, expected) in [("[manual]", KeyStateOption.State.bootstrapManualRequired), ("[]", .refused)] {
            configuration = try AgentConfiguration.parse(
                """
                version: 1
                zones:
                  - name: example.
                    primary: { address: 127.0.0.1, port: 53 }
                    backend: { type: script, output: "-" }
                    bootstrap: { methods: \(methods) }
                """)
            store = try SQLiteStore.inMemory()
            receiver = UpdateReceiver(
                configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: { [now] in now },
                logger: Logger(label: "test"))
            let newKey = try BINDKeyFile.generate(owner: child)
            let reply = try await send(upload(newKey, keyState: true))
            XCTAssertEqual(reply.edns?.keyState()?.state, expected, methods)
            if expected == .refused {
                XCTAssertEqual(reply.rcode, .refused)
                XCTAssertEqual(reply.edns?.extendedError?.infoCode, DelegationEDE.prohibited)
                XCTAssertTrue(reply.edns?.extendedError?.extraText.contains("bootstrap methods offered: none") == true)
                XCTAssertTrue(try store.bootstraps(child: child, activeOnly: false).isEmpty)
            } else {
                XCTAssertEqual(reply.rcode, .noError)
                XCTAssertTrue(reply.edns?.keyState()?.extraText.contains("automatic bootstrap is not offered here") == true)
                XCTAssertEqual(try store.bootstraps(child: child, activeOnly: true).first?.method, .manual)
            }
        }
    }

    func testUploadOverUDPIsRefused() async throws {
        let newKey = try BINDKeyFile.generate(owner: child)
        let reply = try await send(upload(newKey), context: DNSRequestContext(sourceAddress: "127.0.0.1", sourcePort: 5, transport: .udp))
        XCTAssertEqual(reply.rcode, .refused)
        XCTAssertTrue(reply.edns?.extendedError?.extraText.contains("over TCP") == true)
        XCTAssertNil(try store.key(zone: zoneName, child: child, keyTag: newKey.keyTag, algorithm: 15))
        XCTAssertTrue(try store.bootstraps(child: child, activeOnly: false).isEmpty)
    }

    func testASecondUploadSupersedesTheFirstJob() async throws {
        let first = try BINDKeyFile.generate(owner: child)
        let second = try BINDKeyFile.generate(owner: child)
        _ = try await send(upload(first))
        let reply = try await send(upload(second, at: now + 10))
        XCTAssertEqual(reply.rcode, .noError)
        let jobs = try store.bootstraps(child: child, activeOnly: false)
        XCTAssertEqual(jobs.count, 2)
        XCTAssertEqual(jobs.first?.state, .superseded(at: now))
        XCTAssertEqual(try store.bootstraps(child: child, activeOnly: true).map(\.keyTag), [second.keyTag])
    }

    func testAnUploadNotSignedByItsOwnKeyIsRefused() async throws {
        let carried = try BINDKeyFile.generate(owner: child)
        var update = Update(zone: zoneName)
        update.deleteRRset(child, .key)
        update.add(carried.record)
        // Signed by the trusted key instead: that is a key rollover, not a self-signed upload,
        // and it goes through the policy (KEY at the child apex is allowed).
        let rollover = try signer.sign(update.message(id: 6).wireFormat(), now: UInt32(now))
        let reply = try await send(rollover)
        XCTAssertEqual(reply.rcode, .noError, reply.edns?.extendedError?.extraText ?? "")
        XCTAssertTrue(try store.bootstraps(child: child, activeOnly: false).isEmpty)
    }
}

extension KeyBootstrap {
    /// `nextAction` without changing the job.
    func nextActionPreview(now: Int64) -> Action {
        var copy = self
        return copy.nextAction(now: now)
    }
}

extension UpdateReceiverTests {
    func inquiry(_ keyTag: UInt16) async throws -> KeyStateOption? {
        var query = Message(question: [Question(name: child, type: .key)], edns: EDNS(options: [KeyStateOption(keyID: keyTag, state: .inquiry).option()]))
        query.id = 77
        let reply = try await send(try query.wireFormat())
        XCTAssertEqual(reply.rcode, .noError)
        return reply.edns?.keyState()
    }

    /// KeyState inquiries follow the key: unknown, bootstrap ongoing, trusted.
    func testKeyStateInquiry() async throws {
        let newKey = try BINDKeyFile.generate(owner: child)
        let unknown = try await inquiry(newKey.keyTag)
        XCTAssertEqual(unknown?.state, .unknown)
        _ = try await send(upload(newKey))
        let ongoing = try await inquiry(newKey.keyTag)
        XCTAssertEqual(ongoing?.state, .bootstrapAutoOngoing)
        XCTAssertTrue(ongoing?.extraText.contains("round 1 of 3") == true, ongoing?.extraText ?? "")
        let trusted = try await inquiry(key.keyTag)
        XCTAssertEqual(trusted?.state, .trusted)
    }
}

extension UpdateReceiverTests {
    /// With its own key, the receiver signs every reply over the request and the reply
    /// (RFC 2535 §4.1.8.1): the child can verify the answer, and a tampered answer fails.
    func testRepliesAreSignedByTheReceiver() async throws {
        let receiverKey = try BINDKeyFile.generate(owner: DomainName("updater.parent."))
        let clock: @Sendable () -> Int64 = { [now] in now }
        let signing = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: clock,
            logger: Logger(label: "test"), identity: try SIG0Signer(keyFile: receiverKey))
        for request in [try signed([.add(try Record("example.example. 60 IN NS ns.provider2.net."))]), try update([.deleteRRset(child, .ns)])] {
            let handled = await signing.handle(request, context: tcp)
            let reply = try XCTUnwrap(handled)
            let verified = try SIG0Verifier().verify(
                message: reply, key: SIG0PublicKey(receiverKey.keyData), expectedSigner: DomainName("updater.parent."), now: UInt32(now), request: request)
            XCTAssertEqual(verified.keyTag, receiverKey.keyTag)
            XCTAssertThrowsError(try SIG0Verifier().verify(message: reply, key: SIG0PublicKey(receiverKey.keyData), now: UInt32(now), request: request + [0]))
        }
    }
}

// MARK: - Key rollover (DDNS draft): the new KEY added with the old key's signature, then the old
// one deleted with the new key's signature; the trust store follows the committed change.
extension UpdateReceiverTests {
    func testRolloverMovesTrustToTheNewKey() async throws {
        let newKey = try BINDKeyFile.generate(owner: child)
        let newRecord = Record(name: child, type: .key, ttl: 3600, rdata: newKey.keyData.rdata)
        let oldRecord = Record(name: child, type: .key, ttl: 3600, rdata: key.keyData.rdata)
        // Adding the new key, signed by the trusted old one.
        let added = try await send(signed([.add(newRecord)]))
        XCTAssertEqual(added.rcode, .noError, added.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(try store.key(zone: zoneName, child: child, keyTag: newKey.keyTag, algorithm: 15)?.state, .trusted)
        XCTAssertEqual(try store.key(zone: zoneName, child: child, keyTag: key.keyTag, algorithm: 15)?.state, .trusted)
        XCTAssertEqual(parent.snapshot(child)?.keys, [newKey.keyData.rdata])
        // Deleting the old key, signed by the new one.
        let newSigner = try SIG0Signer(keyFile: newKey)
        let deleted = try await send(newSigner.sign(update([.delete(oldRecord)]), now: UInt32(now + 1)))
        XCTAssertEqual(deleted.rcode, .noError, deleted.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(try store.key(zone: zoneName, child: child, keyTag: key.keyTag, algorithm: 15)?.state, .revoked)
        // The old key no longer works.
        let stale = try await send(signed([.add(try Record("child.example. 60 IN NS ns.x.net."))], at: now + 2))
        XCTAssertEqual(stale.rcode, .badKey)
        // Deleting every key (nothing added) would lock the child out: refused, nothing changes.
        let lockout = try await send(newSigner.sign(update([.deleteRRset(child, .key)]), now: UInt32(now + 3)))
        XCTAssertEqual(lockout.rcode, .refused)
        XCTAssertTrue(lockout.edns?.extendedError?.extraText.hasPrefix("key-lockout") == true, "\(String(describing: lockout.edns))")
        XCTAssertEqual(try store.key(zone: zoneName, child: child, keyTag: newKey.keyTag, algorithm: 15)?.state, .trusted)
    }
}
