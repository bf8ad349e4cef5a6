import Agent
import DNSWire
import DelegationCore
import Logging
import SIG0
import Store
import TestSupport
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
        let stored = try XCTUnwrap(store.key(KeyIdentity(zone: zoneName, child: child, rdata: newKey.keyData.rdata)))
        XCTAssertEqual(stored.state, .known)
        // The old key is still trusted and still works.
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: key.keyData.rdata))?.state, .trusted)
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

    /// An upload over UDP (a spoofable source) is not decided: an empty reply with TC=1 sends the
    /// child to TCP; nothing is verified or stored.
    func testUploadOverUDPIsTruncated() async throws {
        let newKey = try BINDKeyFile.generate(owner: child)
        let request = try upload(newKey)
        let reply = try await send(request, context: DNSRequestContext(sourceAddress: "127.0.0.1", sourcePort: 5, transport: .udp))
        XCTAssertTrue(reply.header.tc)
        XCTAssertEqual(reply.rcode, .noError)
        XCTAssertNil(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: newKey.keyData.rdata)))
        XCTAssertTrue(try store.bootstraps(child: child, activeOnly: false).isEmpty)
    }

    /// Issue 10, point 3: an upload never supersedes another key's job — two keys run side by
    /// side (on the old code the second upload superseded the first: anyone could cancel the
    /// child's bootstrap); an identical upload reuses its job.
    func testUploadsForDistinctKeysRunSideBySide() async throws {
        let first = try BINDKeyFile.generate(owner: child)
        let second = try BINDKeyFile.generate(owner: child)
        _ = try await send(upload(first))
        let reply = try await send(upload(second, at: now + 10))
        XCTAssertEqual(reply.rcode, .noError)
        XCTAssertEqual(try store.bootstraps(child: child, activeOnly: true).map(\.keyTag), [first.keyTag, second.keyTag])
        let again = try await send(upload(first, at: now + 20))
        XCTAssertEqual(again.rcode, .noError)
        XCTAssertEqual(try store.bootstraps(child: child, activeOnly: false).count, 2, "an identical upload reuses its job")
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
    /// A KeyState inquiry for `keyTag`, signed by `signer` when given, over `transport`.
    func inquiry(_ keyTag: UInt16, signedBy signer: BINDKeyFile? = nil, transport: DNSTransportKind = .tcp) async throws -> Message {
        var query = Message(question: [Question(name: child, type: .key)], edns: EDNS(options: [KeyStateOption(keyID: keyTag, state: .inquiry).option()]))
        query.id = 77
        var bytes = try query.wireFormat()
        if let signer { bytes = try SIG0Signer(keyFile: signer).sign(bytes, now: UInt32(now)) }
        return try await send(bytes, context: DNSRequestContext(sourceAddress: "127.0.0.1", sourcePort: 5, transport: transport))
    }

    /// KeyState inquiries signed by the key asked about follow it: unknown, bootstrap ongoing,
    /// trusted.
    func testKeyStateInquiry() async throws {
        let newKey = try BINDKeyFile.generate(owner: child)
        let unknown = try await inquiry(newKey.keyTag, signedBy: newKey)
        XCTAssertEqual(unknown.edns?.keyState()?.state, .unknown)
        _ = try await send(upload(newKey))
        let ongoing = try await inquiry(newKey.keyTag, signedBy: newKey)
        XCTAssertEqual(ongoing.rcode, .noError)
        XCTAssertEqual(ongoing.edns?.keyState()?.state, .bootstrapAutoOngoing)
        XCTAssertTrue(ongoing.edns?.keyState()?.extraText.contains("round 1 of 3") == true, ongoing.edns?.keyState()?.extraText ?? "")
        let trusted = try await inquiry(key.keyTag, signedBy: key)
        XCTAssertEqual(trusted.edns?.keyState()?.state, .trusted)
    }

    /// Issue 10, point 8: the inquiry told anyone, over UDP and unsigned, a job's state and the
    /// uploader's source address. Now: UDP gets TC=1 and nothing else; over TCP an inquiry not signed by the key
    /// asked about (unsigned, or signed by a colliding key) learns "unknown" and nothing more.
    func testKeyStateInquiryRevealsNothingToStrangers() async throws {
        let newKey = try BINDKeyFile.generate(owner: child)
        _ = try await send(upload(newKey))
        let udp = try await inquiry(newKey.keyTag, transport: .udp)
        XCTAssertTrue(udp.header.tc, "over UDP: TC=1, ask again over TCP")
        XCTAssertNil(udp.edns?.keyState())
        XCTAssertTrue(udp.answer.isEmpty)
        let stranger = try await inquiry(newKey.keyTag)
        XCTAssertEqual(stranger.edns?.keyState()?.state, .unknown)
        XCTAssertFalse(stranger.edns?.keyState()?.extraText.contains("127.0.0.1") == true)
        XCTAssertFalse(stranger.edns?.keyState()?.extraText.contains("round") == true)
        let colliding = try CollidingKey.make(owner: child, tag: newKey.keyTag, notRDATA: newKey.keyData.rdata)
        let impostor = try await inquiry(newKey.keyTag, signedBy: colliding)
        XCTAssertEqual(impostor.edns?.keyState()?.state, .unknown)
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
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: newKey.keyData.rdata))?.state, .trusted)
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: key.keyData.rdata))?.state, .trusted)
        XCTAssertEqual(parent.snapshot(child)?.keys, [newKey.keyData.rdata])
        // Deleting the old key, signed by the new one.
        let newSigner = try SIG0Signer(keyFile: newKey)
        let deleted = try await send(newSigner.sign(update([.delete(oldRecord)]), now: UInt32(now + 1)))
        XCTAssertEqual(deleted.rcode, .noError, deleted.edns?.extendedError?.extraText ?? "")
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: key.keyData.rdata))?.state, .revoked)
        // The old key no longer works.
        let stale = try await send(signed([.add(try Record("child.example. 60 IN NS ns.x.net."))], at: now + 2))
        XCTAssertEqual(stale.rcode, .badKey)
        // Deleting every key (nothing added) would lock the child out: refused, nothing changes.
        let lockout = try await send(newSigner.sign(update([.deleteRRset(child, .key)]), now: UInt32(now + 3)))
        XCTAssertEqual(lockout.rcode, .refused)
        XCTAssertTrue(lockout.edns?.extendedError?.extraText.hasPrefix("key-lockout") == true, "\(String(describing: lockout.edns))")
        XCTAssertEqual(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: newKey.keyData.rdata))?.state, .trusted)
    }
}
