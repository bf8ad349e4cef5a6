import Agent
import DNSWire
import DelegationCore
import Logging
import SIG0
import Store
import XCTest

// MARK: - Issue 11, point 1: a stranger's upload of an RSA key whose verification would cost
// too much (or prove nothing) is refused before any crypto; the metrics count no verification.
extension UpdateReceiverTests {
    /// A self-signed upload of `publicKey` (algorithm 8) whose SIG names that key's tag; the
    /// signature is 256 random octets (the size a 2048-bit key's signatures have).
    func costlyUpload(publicKey: [UInt8]) throws -> (message: [UInt8], rdata: [UInt8]) {
        let keyData = KEYData(flags: 512, algorithm: 8, publicKey: publicKey)
        var update = Update(zone: zoneName)
        update.deleteRRset(child, .key)
        update.add(Record(name: child, type: .key, ttl: 3600, rdata: keyData.rdata))
        var message = try update.message(id: 9, edns: EDNS()).wireFormat()
        let sig = SIGData(
            algorithm: 8, expiration: UInt32(now + 300), inception: UInt32(now - 300), keyTag: keyData.keyTag, signerName: child,
            signature: (0..<256).map { _ in UInt8.random(in: 0...255) })
        message += Record(name: .root, type: .sig, rrClass: .any, ttl: 0, rdata: sig.rdata).wire
        let arcount = (Int(message[10]) << 8 | Int(message[11])) + 1
        message[10] = UInt8(arcount >> 8)
        message[11] = UInt8(arcount & 0xFF)
        return (message, keyData.rdata)
    }

    /// The verification counters of the metrics exposition, by result.
    func verifications(_ metrics: AgentMetrics) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in metrics.exposition(store: store).split(separator: "\n") where line.hasPrefix("delegsync_sig0_verifications_total{") {
            let fields = line.split(separator: " ")
            let result = fields[0].split(separator: "\"")[1]
            counts[String(result)] = Int(fields[1])
        }
        return counts
    }

    func testCostlyRSAKeyUploadIsRefusedWithoutVerification() async throws {
        let metrics = AgentMetrics()
        receiver = UpdateReceiver(
            configuration: configuration, store: store, backends: [zoneName: parent], reader: parent, contentProbe: probe, clock: { [now] in now },
            logger: Logger(label: "test"),
            metrics: metrics)
        let rsa = try SIG0PrivateKey.generate(.rsaSHA256).publicKey
        XCTAssertEqual(Array(rsa.prefix(4)), [3, 1, 0, 1])
        let modulus = Array(rsa.dropFirst(4))
        var exponent = [UInt8](repeating: 0xC3, count: 384)
        exponent[0] = 0x40  // 3071 bits: one verification about 150 times the usual cost
        let keys: [(String, [UInt8])] = [
            ("3071-bit exponent", [0, 1, 128] + exponent + modulus),
            ("exponent 1", [1, 1] + modulus),
            ("1024-bit modulus", [3, 1, 0, 1] + modulus.prefix(128)),
        ]
        for (name, publicKey) in keys {
            let (message, rdata) = try costlyUpload(publicKey: publicKey)
            let reply = try await send(message)
            XCTAssertEqual(reply.rcode, .refused, "\(name): \(reply.edns?.extendedError?.extraText ?? "no EDE")")
            XCTAssertEqual(reply.edns?.extendedError?.infoCode, DelegationEDE.prohibited, name)
            let text = reply.edns?.extendedError?.extraText ?? ""
            XCTAssertTrue(text.contains("the uploaded key cannot be used") && text.contains("RSA"), "\(name): \(text)")
            XCTAssertNil(try store.key(KeyIdentity(zone: zoneName, child: child, rdata: rdata)), name)
            XCTAssertTrue(try store.bootstraps(child: child, activeOnly: false).isEmpty, name)
            XCTAssertEqual(verifications(metrics), ["verified": 0, "rejected": 0], "\(name): a verification ran")
        }
        let audit = try store.audit(child: nil, limit: 10)
        XCTAssertEqual(audit.count, keys.count)
        XCTAssertTrue(audit.allSatisfy { $0.reason.contains("the uploaded key cannot be used") }, audit.map(\.reason).joined(separator: "\n"))
        XCTAssertTrue(metrics.exposition(store: store).contains("rule=\"unusable-key\""))

        // A well-formed RSA key with a bad signature still costs exactly one verification.
        let (message, _) = try costlyUpload(publicKey: rsa)
        let reply = try await send(message)
        XCTAssertEqual(reply.rcode, .badSig)
        XCTAssertEqual(verifications(metrics), ["verified": 0, "rejected": 1])
    }
}
