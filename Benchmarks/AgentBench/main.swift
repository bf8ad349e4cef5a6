// Verified-and-decided delegation UPDATEs per second on one core (issue 3): the receiver's
// decision pipeline (scan, decode, SIG(0) checks and verification, trust store lookup, replay
// guard, policy), with the parent read from memory and no backend call (each UPDATE asks for
// what the parent already holds, so the decision is "nothing to change", NOERROR); then the
// same with the audit row written to an in-memory SQLite store and the reply encoded. Printed
// next to `openssl speed ed25519` verify/s, as ratios.
// Run: swift run -c release AgentBench [seconds]
import Agent
import BenchSupport
import Backends
import DNSWire
import DelegationCore
import Foundation
import Logging
import SIG0
import Store
import Transport

/// Unbuffered output: figures appear even when the run is cut short.

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 3

struct StaticParent: ParentZoneReader, DelegationBackend {
    let snapshot: DelegationSnapshot
    var description: String { "none" }
    func delegation(in zone: AgentConfiguration.Zone, child: DomainName) async throws -> DelegationSnapshot? { snapshot }
    func apply(_ update: Update) async throws {}
}

// OpenSSL first, on the main thread, before any await (see opensslVerifyRate).
let openssl = ProcessInfo.processInfo.environment["AGENTBENCH_NO_OPENSSL"] == nil ? opensslVerifyRate("ed25519", marker: "Ed25519", seconds: seconds) : nil

let zone = try DomainName("parent.")
let child = try DomainName("child.parent.")
let configuration = try AgentConfiguration.parse(
    """
    version: 1
    limits: { updates-per-child-per-hour: 100000, verifications-per-source-per-second: 1000000, max-verifications-in-flight: 1024 }
    zones:
      - name: parent.
        primary: { address: 127.0.0.1 }
        backend: { type: script, output: "-" }
    """)
let records = [
    try Record("child.parent. 3600 IN NS ns1.child.parent."), try Record("child.parent. 3600 IN NS ns.provider.example."),
    try Record("ns1.child.parent. 3600 IN A 192.0.2.1"),
]
let parent = StaticParent(snapshot: try DelegationSnapshot(child: child, records: records))
let store = try SQLiteStore.inMemory()
let key = try BINDKeyFile.generate(owner: child)
try store.putKey(StoredKey(zone: zone, child: child, keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .trusted, addedAt: 0, origin: "bench"))
let signer = try SIG0Signer(keyFile: key)
let now: Int64 = 1_800_000_000
var logger = Logger(label: "bench")
logger.logLevel = .critical
// Each UPDATE asks for what the parent holds, so the content checks never ask the child's
// servers; were they asked, this exchange fails and the checks refuse (nothing leaves the host).
let noChildServers = ChildContentProbe(exchange: { _, host, _, _ in throw BackendError("the benchmark asks no nameserver (\(host))") })
let receiver = UpdateReceiver(
    configuration: configuration, store: store, backends: [zone: parent], reader: parent, contentProbe: noChildServers, clock: { now }, logger: logger)

// Distinct messages (IDs differ, so signatures differ and the replay guard lets each through).
var update = Update(zone: zone)
update.deleteRRset(child, .ns)
for record in records { update.add(record) }
let count = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 60_000
var messages: [[UInt8]] = []
messages.reserveCapacity(count)
for index in 0..<count {
    messages.append(
        try signer.sign(
            update.message(id: UInt16(index & 0xFFFF)).wireFormat(), inception: UInt32(now) - 300, expiration: UInt32(now) + 300 + UInt32(index >> 16)))
}
say("prepared \(messages.count) signed UPDATEs")
let context = DNSRequestContext(sourceAddress: "127.0.0.1", sourcePort: 5353, transport: .tcp)
let check = try Message(wire: await receiver.handle(messages[0], context: context)!)
precondition(check.rcode == .noError, "unexpected \(check.rcode): \(check.edns?.extendedError?.extraText ?? "")")

// The loops run off the main actor, as the server's handlers do. Each message is used once:
// the replay guard refuses a signature seen before.
func run(_ messages: ArraySlice<[UInt8]>, _ body: @escaping @Sendable ([UInt8]) async -> Void) async -> (Int, Double) {
    await Task.detached {
        var handled = 0
        let start = monotonicSeconds()
        for message in messages {
            await body(message)
            handled += 1
            if handled % 100 == 0, monotonicSeconds() - start >= seconds { break }
        }
        return (handled, monotonicSeconds() - start)
    }.value
}
let half = messages.count / 2
// 1. Verified and decided: scan, decode, every check, trust store lookup, SIG(0) verification,
//    replay guard, policy against the parent's delegation. No audit row, no reply.
let (decided, decideTime) = await run(messages[1...half]) { message in
    let decision = await receiver.decide(message, context: context, now: now)
    precondition(decision?.outcome.rcode == .noError)
}
// 2. The whole receiver: the same, plus the audit row written to SQLite and the reply encoded.
let (handled, handleTime) = await run(messages[(half + 1)...]) { message in _ = await receiver.handle(message, context: context) }
let decideRate = Double(decided) / decideTime
let handleRate = Double(handled) / handleTime
say("delegation UPDATEs (Ed25519), one at a time on one task, backend excluded:")
say(String(format: "verified and decided (policy included): %8.0f UPDATEs/s  (%d in %.1f s)", decideRate, decided, decideTime))
say(String(format: "  + audit row in SQLite and the reply:  %8.0f UPDATEs/s  (%d in %.1f s)", handleRate, handled, handleTime))
if let openssl {
    say(String(format: "openssl speed ed25519:                  %8.0f verify/s", openssl))
    say(String(format: "ratio verified-and-decided / openssl:   %8.2f", decideRate / openssl))
    say(String(format: "ratio with audit and reply / openssl:   %8.2f", handleRate / openssl))
}

if ProcessInfo.processInfo.environment["AGENTBENCH_PARTS"] != nil {
    func time(_ name: String, _ n: Int = 2000, _ body: () throws -> Void) rethrows {
        let start = monotonicSeconds()
        for _ in 0..<n { try body() }
        say(String(format: "%-24@ %8.1f µs", name as NSString, (monotonicSeconds() - start) / Double(n) * 1e6))
    }
    try time("store.keys(tag)") { _ = try store.keys(zone: zone, child: child, keyTag: key.keyTag, algorithm: 15) }
    var serial: UInt8 = 0
    try time("store.admit") {
        serial &+= 1
        _ = try store.admit(
            Admission(
                key: KeyIdentity(zone: zone, child: child, rdata: key.keyData.rdata), inception: 5, signatureDigest: SHA256.digest([serial, 1, 2]),
                expiresAt: 10, budget: nil), now: 1)
    }
    try time("store.appendAudit") {
        try store.appendAudit(
            AuditEntry(
                time: 1, source: "x", transport: "tcp", zone: "parent.", signer: "child.parent.", keyTag: 1, request: "r", decision: "NOERROR", reason: "x"))
    }
    try time("Message(wire:)") { _ = try Message(wire: messages[1]) }
    try time("SIG0Signature") { _ = try SIG0Signature(message: messages[1]) }
    let pub = try SIG0PublicKey(key.keyData)
    try time("verify") { try SIG0Verifier().verify(message: messages[1], key: pub, now: UInt32(now)) }
    try time("Update(message:)") { _ = try Update(message: Message(wire: messages[1])) }
    let decoded = try Message(wire: messages[1])
    time("audit text (ldns)") { _ = decoded.updates.map(\.description).joined(separator: "\n") }
    try time("reply encode") { _ = try decoded.makeResponse(rcode: .noError).wireFormat() }
    let snapshot = try DelegationSnapshot(child: child, records: records)
    let operations = try Update(message: decoded).operations
    time("policy") { _ = DelegationPolicyEngine.standard().evaluate(DelegationRequest(zone: zone, child: child, operations: operations, current: snapshot)) }
}
