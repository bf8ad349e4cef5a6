// The whole receive path against the signature check it cannot be faster than (issue 15, item 6,
// first bullet): signed delegation UPDATEs (Ed25519) from many children at once, through the
// receiver's decision pipeline (scan, decode, SIG(0) checks and verification, trust store
// lookup, replay guard and budget made durable, policy) and then the same plus the audit row and
// the reply: the whole receive path, backend excluded. The parent is read from memory and each
// UPDATE asks for what the parent holds, so the decision is "nothing to change", NOERROR.
//
// The store is an SQLite file in WAL mode, opened as `delegsync serve` opens it: every reply
// waits until its replay record and its audit row are committed (group commit).
//
// Printed next to `openssl speed ed25519` verify/s of the same run, as ratios: on one core (this
// process re-runs itself pinned to CPU 0 with taskset, against `openssl speed`) and on all cores
// (unpinned, against `openssl speed -multi N`).
//
// Then, as root where PostgreSQL is installed (a throwaway cluster on 127.0.0.1:25436, as the
// tests start it, its own database for each run): the same on all cores with a PostgreSQL store,
// where a group commit is one PostgreSQL transaction; the server's CPU is not the agent's, so
// the per-CPU-second figure counts only this process.
//
// Run: make bench, or .build/release/AgentBench [seconds]
// (`AgentBench --measure SECONDS` is one measurement, what the first form runs twice; with
// AGENTBENCH_MESSAGES=N each phase handles N messages, for callgrind.)
import Agent
import BenchSupport
import Backends
import DNSWire
import DelegationCore
import Foundation
import LabSupport
import Logging
import SIG0
import Store
import Transport

let arguments = Array(CommandLine.arguments.dropFirst())
let measuring = arguments.first == "--measure"
let seconds = Double(arguments.last { Double($0) != nil } ?? "") ?? 3
/// Requests in flight at once: the server's default `limits.max-in-flight` (one transport).
let concurrency = ProcessInfo.processInfo.environment["AGENTBENCH_CONCURRENCY"].flatMap { Int($0) } ?? DNSServerLimits().maxInFlight
/// Children sending at once, each with its own key (and its own replay state and budget).
let childCount = 64

/// The figures one measurement prints on its last line, for the run that started it: requests
/// a second by the wall clock, and per CPU second the process used (what `openssl speed`
/// reports, and what a busy machine leaves intact).
struct Figures {
    var values: [String: Double]

    init(_ values: [String: Double]) { self.values = values }

    var line: String { "figures " + values.sorted { $0.key < $1.key }.map { String(format: "%@=%.1f", $0.key as NSString, $0.value) }.joined(separator: " ") }

    init?(output: String) {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("figures ") }) else { return nil }
        values = [:]
        for field in line.split(separator: " ").dropFirst() {
            let pair = field.split(separator: "=")
            if pair.count == 2 { values[String(pair[0])] = Double(pair[1]) }
        }
    }

    subscript(_ name: String) -> Double? { values[name] }
}

if !measuring {
    // OpenSSL first, on the main thread, before any await (see opensslVerifyRate).
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let opensslOne = opensslVerifyRate("ed25519", marker: "Ed25519", seconds: seconds)
    let opensslAll = cores > 1 ? opensslVerifyRate("ed25519", marker: "Ed25519", seconds: seconds, processes: cores) : opensslOne
    /// This benchmark again with `--measure`, under `prefix` (taskset); its figures.
    func measure(_ prefix: [String], environment: [String: String] = [:]) -> Figures? {
        let process = Process()
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).path
        process.executableURL = URL(fileURLWithPath: prefix.isEmpty ? me : "/usr/bin/env")
        process.arguments = prefix + (prefix.isEmpty ? [] : [me]) + ["--measure", String(seconds)]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        for line in output.split(separator: "\n") where !line.hasPrefix("figures ") { say("  " + line) }
        return Figures(output: output)
    }
    say("one core (taskset -c 0):")
    let one = measure(["taskset", "-c", "0"])
    say("all \(cores) cores:")
    let all = measure([])
    func rate(_ value: Double?) -> String { value.map { String(format: "%9.0f/s", $0) } ?? "      n/a" }
    func ratio(_ value: Double?, _ reference: Double?) -> String {
        guard let value, let reference else { return "   n/a" }
        return String(format: "%6.2f", value / reference)
    }
    say("")
    say("Ed25519 UPDATEs from \(childCount) children, \(concurrency) in flight, SQLite file store (WAL), backend excluded.")
    say("openssl speed ed25519: \(rate(opensslOne)) verify per CPU second; -multi \(cores): \(rate(opensslAll)) (the sum of its processes)")
    say("")
    say("                                     | one core (taskset -c 0)          | all \(cores) cores")
    say("                                     | wall clock  per CPU s   ratio    | wall clock  ratio   per CPU s   ratio")
    for (name, key) in [("verified and decided (no audit row)", "decided"), ("whole receive path (+ audit, reply)", "handled")] {
        say(
            name.padding(toLength: 37, withPad: " ", startingAt: 0) + "| " + rate(one?[key]) + "  " + rate(one?[key + "-cpu"]) + "  "
                + ratio(one?[key + "-cpu"], opensslOne) + "   | " + rate(all?[key]) + " " + ratio(all?[key], opensslAll) + "  "
                + rate(all?[key + "-cpu"]) + "  " + ratio(all?[key + "-cpu"], opensslOne))
    }
    say("")
    say("ratio per core: requests per CPU second over `openssl speed ed25519`'s verifications per CPU second (target 0.9);")
    say("all cores by the wall clock: requests/s over `openssl speed -multi` (meaningful only on an otherwise idle machine).")
    say(
        "whole receive path per core / openssl per core: one core \(ratio(one?["handled-cpu"], opensslOne)), all cores \(ratio(all?["handled-cpu"], opensslOne))"
    )
    // PostgreSQL: only as root (the lab's recipe runs the server as the postgres user).
    var postgresFailed = false
    if getuid() != 0 || PostgresLab.missing != nil {
        say("")
        say("PostgreSQL store: skipped (\(PostgresLab.missing ?? "run as root"))")
    } else {
        say("")
        say("PostgreSQL store (a throwaway cluster on 127.0.0.1:25436, fsync off), all \(cores) cores:")
        do {
            let postgres = try PostgresLab(port: 25436)
            defer { postgres.stop() }
            let url = try postgres.createDatabase("agentbench")
            let figures = measure([], environment: ["AGENTBENCH_POSTGRES_URL": url])
            postgresFailed = figures == nil
            say("")
            say("                                     | wall clock  ratio   per agent CPU s   ratio")
            for (name, key) in [("verified and decided (no audit row)", "decided"), ("whole receive path (+ audit, reply)", "handled")] {
                say(
                    name.padding(toLength: 37, withPad: " ", startingAt: 0) + "| " + rate(figures?[key]) + " " + ratio(figures?[key], opensslAll) + "  "
                        + rate(figures?[key + "-cpu"]) + "        " + ratio(figures?[key + "-cpu"], opensslOne))
            }
        } catch {
            say("PostgreSQL store: \(error)")
            postgresFailed = true
        }
    }
    exit(one == nil || all == nil || postgresFailed ? 1 : 0)
}

struct StaticParent: ParentZoneReader, DelegationBackend {
    let snapshots: [DomainName: DelegationSnapshot]
    var description: String { "none" }
    func delegation(in zone: AgentConfiguration.Zone, child: DomainName) async throws -> DelegationSnapshot? { snapshots[child] }
    func apply(_ update: Update) async throws {}
}

let zone = try DomainName("parent.")
let configuration = try AgentConfiguration.parse(
    """
    version: 1
    limits: { updates-per-child-per-hour: 100000, verifications-per-source-per-second: 1000000, max-verifications-in-flight: 1024 }
    zones:
      - name: parent.
        primary: { address: 127.0.0.1 }
        backend: { type: script, output: "-" }
    """)
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agentbench-\(UUID().uuidString)").path
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
let store: any DelegationStore =
    if let url = ProcessInfo.processInfo.environment["AGENTBENCH_POSTGRES_URL"] {
        try PostgresStore(url: url)
    } else if ProcessInfo.processInfo.environment["AGENTBENCH_MEMORY"] != nil {
        try SQLiteStore.inMemory()
    } else {
        try SQLiteStore(path: directory + "/delegsync.sqlite")
    }
let now: Int64 = 1_800_000_000

/// One child: its key, and the UPDATE it sends (what the parent already holds).
struct Child: Sendable {
    let name: DomainName
    let signer: SIG0Signer
    let records: [Record]
    let update: Update

    init(name: DomainName, signer: SIG0Signer) throws {
        self.name = name
        self.signer = signer
        records = [
            try Record("\(name) 3600 IN NS ns1.\(name)"), try Record("\(name) 3600 IN NS ns.provider.example."), try Record("ns1.\(name) 3600 IN A 192.0.2.1"),
        ]
        var update = Update(zone: name.parent)
        update.deleteRRset(name, .ns)
        for record in records { update.add(record) }
        self.update = update
    }
}
let children: [Child] = try (0..<childCount).map { index in
    let name = try DomainName("c\(index).parent.")
    let key = try BINDKeyFile.generate(owner: name)
    try store.putKey(
        StoredKey(zone: zone, child: name, keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .trusted, addedAt: 0, origin: "bench"))
    return try Child(name: name, signer: SIG0Signer(keyFile: key))
}
var snapshots: [DomainName: DelegationSnapshot] = [:]
for child in children { snapshots[child.name] = try DelegationSnapshot(child: child.name, records: child.records) }
let parent = StaticParent(snapshots: snapshots)
var logger = Logger(label: "bench")
logger.logLevel = .critical
// Each UPDATE asks for what the parent holds, so the content checks never ask the child's
// servers; were they asked, this exchange fails and the checks refuse (nothing leaves the host).
let noChildServers = ChildContentProbe(exchange: { _, host, _, _ in throw BackendError("the benchmark asks no nameserver (\(host))") })
let receiver = UpdateReceiver(
    configuration: configuration, store: store, backends: [zone: parent], reader: parent, contentProbe: noChildServers, clock: { now }, logger: logger)
let context = DNSRequestContext(sourceAddress: "127.0.0.1", sourcePort: 5353, transport: .tcp)

/// `count` distinct signed UPDATEs, the children taking turns (IDs and expirations differ, so
/// every signature differs and the replay guard lets each through once), signed on every core.
func messages(_ count: Int, from first: Int) -> [[UInt8]] {
    let signed = UnsafeMutableBufferPointer<[UInt8]>.allocate(capacity: count)
    signed.initialize(repeating: [])
    defer { signed.deallocate() }
    nonisolated(unsafe) let output = signed
    DispatchQueue.concurrentPerform(iterations: count) { offset in
        let index = first + offset
        let child = children[index % childCount]
        let serial = index / childCount
        output[offset] = try! child.signer.sign(
            child.update.message(id: UInt16(serial & 0xFFFF)).wireFormat(), inception: UInt32(now) - 300,
            expiration: UInt32(now) + 300 + UInt32(serial >> 16))
    }
    return Array(signed)
}

/// Enough messages for `seconds` at a rate well above OpenSSL's on every core; or as many as
/// AGENTBENCH_MESSAGES says (to count instructions with `valgrind --tool=callgrind`, where the
/// wall clock says little).
let perPhase =
    ProcessInfo.processInfo.environment["AGENTBENCH_MESSAGES"].flatMap { Int($0) }
    ?? Int(seconds * 30_000) * ProcessInfo.processInfo.activeProcessorCount
let decideMessages = messages(perPhase, from: 0)
let handleMessages = messages(perPhase, from: perPhase)
let check = try Message(wire: await receiver.handle(messages(1, from: 2 * perPhase)[0], context: context)!)
precondition(check.rcode == .noError, "unexpected \(check.rcode): \(check.edns?.extendedError?.extraText ?? "")")

/// The next message to handle, shared by the tasks of one phase.
final class Cursor: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    let end: Int
    init(_ end: Int) { self.end = end }
    func take() -> Int? {
        lock.withLock {
            guard next < end else { return nil }
            defer { next += 1 }
            return next
        }
    }
}

/// Runs `body` on the messages from `concurrency` tasks at once (as the server's handlers run)
/// until they are used up or `seconds` have passed; requests handled and the time taken. Each
/// message is used once: the replay guard refuses a signature seen before.
func run(_ messages: [[UInt8]], _ body: @escaping @Sendable ([UInt8]) async -> Void) async -> (handled: Int, seconds: Double, cpu: Double) {
    let cursor = Cursor(messages.count)
    let (start, cpuStart) = (monotonicSeconds(), processCPUSeconds())
    let handled = await withTaskGroup(of: Int.self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var handled = 0
                while monotonicSeconds() - start < seconds, let index = cursor.take() {
                    await body(messages[index])
                    handled += 1
                }
                return handled
            }
        }
        return await group.reduce(0, +)
    }
    return (handled, monotonicSeconds() - start, processCPUSeconds() - cpuStart)
}

// 1. Verified and decided: every check, trust store lookup, SIG(0) verification, replay guard
//    and budget committed, policy against the parent's delegation. No audit row, no reply.
let decided = await run(decideMessages) { message in
    let decision = await receiver.decide(message, context: context, now: now)
    precondition(decision?.outcome.rcode == .noError, "\(decision?.outcome.reason ?? "no decision")")
}
// 2. The whole receive path: the same, plus the audit row committed and the reply encoded.
let handled = await run(handleMessages) { message in
    let reply = await receiver.handle(message, context: context)
    precondition(reply != nil)
}
for (name, phase) in [("verified and decided", decided), ("whole receive path", handled)] {
    say(
        String(
            format: "%@ %6d in %.1f s: %8.0f/s by the wall clock, %8.0f per CPU second (%.1f CPU s)", name.padding(toLength: 21, withPad: " ", startingAt: 0),
            phase.handled, phase.seconds, Double(phase.handled) / phase.seconds, Double(phase.handled) / phase.cpu, phase.cpu))
}
let audited = try store.audit(child: nil, limit: Int.max).count
precondition(audited == handled.handled + 1, "\(audited) audit rows for \(handled.handled + 1) handled requests")
say(
    Figures([
        "decided": Double(decided.handled) / decided.seconds, "decided-cpu": Double(decided.handled) / decided.cpu,
        "handled": Double(handled.handled) / handled.seconds, "handled-cpu": Double(handled.handled) / handled.cpu,
    ]).line)

// AGENTBENCH_PARTS=1: what the parts of one request cost on their own, one at a time.
if ProcessInfo.processInfo.environment["AGENTBENCH_PARTS"] != nil {
    func time(_ name: String, _ n: Int = 2000, _ body: () throws -> Void) rethrows {
        let start = monotonicSeconds()
        for _ in 0..<n { try body() }
        say(String(format: "%-28@ %8.1f µs", name as NSString, (monotonicSeconds() - start) / Double(n) * 1e6))
    }
    let sample = decideMessages[0]  // signed by children[0]
    let first = children[0]
    let key = try store.keys(zone: zone, child: first.name).first!
    var serial: UInt32 = 0
    for batch in [1, 32] {
        let batches = 6400 / batch
        let (start, cpuStart) = (monotonicSeconds(), processCPUSeconds())
        for _ in 0..<batches {
            let writes: [StoreWrite] = (0..<batch).flatMap { _ -> [StoreWrite] in
                serial += 1
                let admission = Admission(
                    key: key.identity, inception: UInt32(now), signatureDigest: SHA256.digest(withUnsafeBytes(of: serial) { [UInt8]($0) }),
                    expiresAt: now + 600, budget: .init(name: "bench", perHour: 100_000))
                return [
                    .admit(admission, now: now),
                    .appendAudit(
                        AuditEntry(
                            time: now, source: "127.0.0.1:5353", transport: "tcp", zone: "parent.", signer: first.name.description, keyTag: key.keyTag,
                            request: "r", decision: "NOERROR", reason: "nothing to change")),
                ]
            }
            _ = try store.commit(writes)
        }
        // The CPU time leaves out the wait for the disk (fsync), which varies with the machine.
        say(
            String(
                format: "%-28@ %8.1f µs, %6.1f µs CPU", "store.commit, batches of \(batch): per request" as NSString,
                (monotonicSeconds() - start) / Double(batches * batch) * 1e6, (processCPUSeconds() - cpuStart) / Double(batches * batch) * 1e6))
    }
    try time("Message(wire:)") { _ = try Message(wire: sample) }
    try time("SIG0Signature") { _ = try SIG0Signature(message: sample) }
    let publicKey = try SIG0PublicKey(KEYData(rdata: key.rdata))
    try time("verify") { try SIG0Verifier().verify(message: sample, key: publicKey, now: UInt32(now)) }
    let decoded = try Message(wire: sample)
    time("audit text (ldns)") { _ = decoded.updates.map(\.description).joined(separator: "\n") }
    try time("reply encode") { _ = try decoded.makeResponse(rcode: .noError).wireFormat() }
    let operations = try Update(message: decoded).operations
    time("policy") {
        _ = DelegationPolicyEngine.standard().evaluate(
            DelegationRequest(zone: zone, child: first.name, operations: operations, current: snapshots[first.name]!))
    }
}
