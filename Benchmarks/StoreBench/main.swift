// StoreBench (issue 15, item 6): the store at registry scale, in one run.
//
// 1. A million children (STOREBENCH_CHILDREN, default 1,000,000), in SQLite and in PostgreSQL:
//    the store filled with one key per child (`putKeys`, as `keys import --from` does), then the
//    key lookup the receive path makes for every signed UPDATE (`keys(zone:child:keyTag:
//    algorithm:)`, random children, in this process) — p50 and p99; then a real `delegsync
//    serve` on that store, under the change load below, and its resident set (VmRSS at the end,
//    VmHWM the peak).
// 2. Two agents on one PostgreSQL against one: real `delegsync serve` processes in front of a
//    real BIND parent (RFC 2136 + TSIG). 64 of the children hold real Ed25519 keys; each sends
//    signed NS changes (ns2.provider.example. in, then out again) one after another, for
//    STOREBENCH_SECONDS (default 15) per phase. A change counts when it is answered NOERROR —
//    that is after the agent verified it, admitted it in the store (replay and budget), took the
//    child's lock, committed it to BIND, saw BIND serve it and wrote the audit row. Printed:
//    committed changes/s with one agent (all children on it) and with two (children split
//    between them, both on the same database), and their ratio.
//
// Everything runs on loopback: BIND on 127.0.0.72:16000, the agents on 127.0.0.73:16001 and
// 127.0.0.74:16002, PostgreSQL (a throwaway cluster, as the tests start it) on 127.0.0.1:25435.
// Run as root (the lab's loopback aliases):   make bench   (after the other benchmarks)
//                                             STOREBENCH_CHILDREN=100000 .build/release/StoreBench

import BenchSupport
import DNSWire
import Foundation
import LabSupport
import SIG0
import Store
import Transport

#if canImport(Glibc)
    import Glibc
#endif

let environment = ProcessInfo.processInfo.environment
let childCount = max(Int(environment["STOREBENCH_CHILDREN"] ?? "") ?? 1_000_000, 1000)
let loadSeconds = Double(environment["STOREBENCH_SECONDS"] ?? "") ?? 15
let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("delegsync").path
guard FileManager.default.isExecutableFile(atPath: binary) else {
    say("no delegsync next to the bench at \(binary): swift build -c release --product delegsync")
    exit(1)
}
for missing in [LabServer.missing(.bind), PostgresLab.missing].compactMap({ $0 }) {
    say(missing)
    exit(1)
}

let zone = try DomainName("parent.")
/// The children that send changes: c0 … c63, with real keys.
let active = 64
let parentAddress = "127.0.0.72", parentPort = 16000
let agentAddresses = [("127.0.0.73", 16001), ("127.0.0.74", 16002)]
let postgresPort = 25435

func childName(_ index: Int) -> DomainName { try! DomainName("c\(index).parent.") }

let activeKeys = try (0..<active).map { try BINDKeyFile.generate(owner: childName($0)) }

/// The key of child `index`: a real one for the active children, otherwise an Ed25519-sized
/// KEY whose public key is the index (never used to verify; the lookup is what is measured).
func storedKey(_ index: Int, now: Int64) -> StoredKey {
    let rdata: [UInt8]
    if index < active {
        rdata = activeKeys[index].keyData.rdata
    } else {
        rdata = [0x02, 0x00, 3, 15] + withUnsafeBytes(of: UInt64(index).littleEndian, Array.init) + [UInt8](repeating: 0x5A, count: 24)
    }
    return StoredKey(
        zone: zone, child: childName(index), keyTag: KEYData.keyTag(rdata: rdata), algorithm: 15, rdata: rdata, state: .trusted, addedAt: now,
        origin: "bench")
}

/// Stores every child's key in transactions of 10,000; seconds taken.
func fill(_ store: any DelegationStore) throws -> Double {
    let now = Int64(Date().timeIntervalSince1970)
    let start = monotonicSeconds()
    for first in stride(from: 0, to: childCount, by: 10_000) {
        try store.putKeys((first..<min(first + 10_000, childCount)).map { storedKey($0, now: now) })
    }
    return monotonicSeconds() - start
}

/// The receive path's key lookup for random children: p50 and p99 in microseconds.
func lookups(_ store: any DelegationStore, samples: Int = 20_000) throws -> (p50: Double, p99: Double) {
    var generator = SystemRandomNumberGenerator()
    var times: [Double] = []
    times.reserveCapacity(samples)
    for _ in 0..<samples {
        let key = storedKey(Int.random(in: 0..<childCount, using: &generator), now: 0)
        let start = monotonicSeconds()
        let found = try store.keys(zone: zone, child: key.child, keyTag: key.keyTag, algorithm: 15)
        times.append(monotonicSeconds() - start)
        precondition(found.map(\.rdata) == [key.rdata], "lookup of \(key.child) found \(found.count) keys")
    }
    times.sort()
    return (times[samples / 2] * 1e6, times[samples * 99 / 100] * 1e6)
}

/// Fills `store` with every child's key, then measures the lookups; prints both.
func fillAndLookUp(_ kind: String, _ store: any DelegationStore) throws {
    let seconds = try fill(store)
    say(String(format: "%@: %d keys stored in %.1f s (%.0f keys/s)", kind as NSString, childCount, seconds, Double(childCount) / seconds))
    let latency = try lookups(store)
    say(String(format: "%@: key lookup p50 %6.1f µs, p99 %6.1f µs", kind as NSString, latency.p50, latency.p99))
}

// MARK: The parent and the agents

var parentZone = """
    $ORIGIN parent.
    $TTL 3600
    @ IN SOA ns1.parent. hostmaster.parent. 2026010101 3600 900 604800 300
    @ IN NS ns1.parent.
    ns1 IN A 192.0.2.53

    """
for index in 0..<active { parentZone += "c\(index) IN NS ns.provider.example.\n" }
let parent = try LabServer.bind(zone: "parent.", zoneFileText: parentZone, address: parentAddress, port: parentPort)
let directory = try Tool.temporaryDirectory("storebench")

/// One `delegsync serve`.
final class Agent {
    let process = Process()
    let address: String
    let port: Int
    /// Its standard error.
    let log: String

    init(store: String, name: String, listen: (String, Int)) throws {
        (address, port) = listen
        log = "\(directory)/\(name).log"
        let config = "\(directory)/\(name).yaml"
        try """
        version: 1
        listen: [{ address: \(address), port: \(port) }]
        store: \(store)
        log-level: error
        limits:
          updates-per-child-per-hour: 100000
          verifications-per-source-per-second: 100000
          max-verifications-in-flight: 256
          max-tcp-connections: 1000
          max-tcp-connections-per-source: 500
          max-tcp-connections-per-prefix: 1000
        zones:
          - name: parent.
            primary: { address: \(parentAddress), port: \(parentPort) }
            backend: { type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }
            content-checks: { ns-authoritative: false, ds-matches-dnskey: false, ds-removal-needs-cds-delete: false }

        """.write(toFile: config, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", config]
        process.standardOutput = FileHandle.nullDevice
        guard FileManager.default.createFile(atPath: log, contents: nil) else { throw ToolError("cannot create \(log)") }
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
    }

    /// Waits until the agent answers over TCP.
    func ready() async throws {
        for _ in 0..<200 {
            var probe = Message(question: [Question(name: zone, type: .soa)])
            probe.id = 1
            if (try? await DNSClient(timeout: .milliseconds(200)).exchange(try probe.wireFormat(), host: address, port: port, transport: .tcp)) != nil {
                return
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ToolError("the agent on \(address):\(port) did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    /// Resident set now and at its peak, in MiB (/proc/PID/status).
    func memory() -> (rss: Double, peak: Double) {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Double {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            return (line?.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0) / 1024
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    /// CPU seconds used so far (user + system, /proc/PID/stat).
    func cpu() -> Double {
        let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
        // After the command name in parentheses: utime is the 12th field, stime the 13th.
        let fields = stat.split(separator: ")").last.map { $0.split(separator: " ") } ?? []
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

// MARK: The change load

typealias Load = (committed: Int, other: Int, elapsed: Double)

/// Every active child sends signed changes, one after another, to agent `index % agents.count`
/// for `seconds`; returns the changes answered NOERROR, the other answers, and the seconds.
/// `present` says whether ns2.provider.example. is in each child's delegation (each child is
/// driven by one task, so the task knows); returned as it is afterwards.
func load(_ agents: [Agent], seconds: Double, present: [Bool]) async throws -> (Load, [Bool]) {
    let start = monotonicSeconds()
    let states = present
    let results = try await withThrowingTaskGroup(of: (Int, Int, Int, Bool).self) { group in
        for index in 0..<active {
            let target = (agents[index % agents.count].address, agents[index % agents.count].port)
            let key = activeKeys[index]
            var isPresent = states[index]
            group.addTask {
                let signer = try SIG0Signer(keyFile: key)
                let record = try Record("c\(index).parent. 3600 IN NS ns2.provider.example.")
                var committed = 0, other = 0
                while monotonicSeconds() - start < seconds {
                    let update = Update(zone: zone, operations: [isPresent ? .delete(record) : .add(record)])
                    let bytes = try signer.sign(update.message(id: .random(in: 0...UInt16.max)).wireFormat(), now: UInt32(Date().timeIntervalSince1970))
                    let reply = try? await DNSClient(timeout: .seconds(10)).exchange(bytes, host: target.0, port: target.1, transport: .tcp)
                    if let reply, (try? Message(wire: reply))?.rcode == .noError {
                        committed += 1
                        isPresent.toggle()
                    } else {
                        other += 1
                    }
                }
                return (index, committed, other, isPresent)
            }
        }
        var total = (committed: 0, other: 0)
        var after = states
        for try await (index, committed, other, isPresent) in group {
            total.committed += committed
            total.other += other
            after[index] = isPresent
        }
        return (total, after)
    }
    return ((results.0.committed, results.0.other, monotonicSeconds() - start), results.1)
}

func rate(_ result: Load) -> Double { Double(result.committed) / result.elapsed }

func describe(_ label: String, _ result: Load) {
    say(
        String(
            format: "%-46@ %8.1f changes/s  (%d committed, %d not, in %.1f s)", label as NSString, rate(result), result.committed, result.other,
            result.elapsed))
}

func megabytes(_ memory: (rss: Double, peak: Double)) -> String { String(format: "RSS %6.1f MiB (peak %6.1f MiB)", memory.rss, memory.peak) }

/// Both parts, one after the other; what they start is stopped when they end.
func measure() async throws {
    /// Whether ns2.provider.example. is in each active child's delegation.
    var present = [Bool](repeating: false, count: active)

    say("StoreBench: \(childCount) children, \(active) of them sending changes, \(Int(loadSeconds)) s per load phase")
    let loadAverage = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    say("host: \(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(loadAverage) (BIND, PostgreSQL, the agents and this load share them)")

    // MARK: SQLite

    let sqlitePath = "\(directory)/state.sqlite"
    try fillAndLookUp("SQLite", try SQLiteStore(path: sqlitePath))
    let sqliteAgent = try Agent(store: "{ path: \(sqlitePath) }", name: "sqlite", listen: agentAddresses[0])
    try await sqliteAgent.ready()
    var cpu = sqliteAgent.cpu()
    let (sqliteLoad, afterSQLite) = try await load([sqliteAgent], seconds: loadSeconds, present: present)
    present = afterSQLite
    describe("SQLite, one agent:", sqliteLoad)
    say(String(format: "  agent CPU: %.0f %% of one core", (sqliteAgent.cpu() - cpu) / sqliteLoad.elapsed * 100))
    say("SQLite agent with \(childCount) children: \(megabytes(sqliteAgent.memory()))")
    sqliteAgent.stop()

    // MARK: PostgreSQL

    let postgres = try PostgresLab(port: postgresPort)
    defer { postgres.stop() }
    let url = try postgres.createDatabase("storebench")
    try fillAndLookUp("PostgreSQL", try PostgresStore(url: url))
    let storeLine = "{ type: postgresql, url: \(url) }"
    let first = try Agent(store: storeLine, name: "pg-a", listen: agentAddresses[0])
    defer { first.stop() }
    try await first.ready()
    cpu = first.cpu()
    let (one, afterOne) = try await load([first], seconds: loadSeconds, present: present)
    present = afterOne
    describe("PostgreSQL, one agent:", one)
    say(String(format: "  agent CPU: %.0f %% of one core", (first.cpu() - cpu) / one.elapsed * 100))
    say("PostgreSQL agent A with \(childCount) children: \(megabytes(first.memory()))")
    let second = try Agent(store: storeLine, name: "pg-b", listen: agentAddresses[1])
    defer { second.stop() }
    try await second.ready()
    let cpus = (first.cpu(), second.cpu())
    let (two, afterTwo) = try await load([first, second], seconds: loadSeconds, present: present)
    present = afterTwo
    describe("PostgreSQL, two agents (children split):", two)
    say(
        String(
            format: "  agents' CPU: A %.0f %%, B %.0f %% of one core", (first.cpu() - cpus.0) / two.elapsed * 100,
            (second.cpu() - cpus.1) / two.elapsed * 100))
    say("PostgreSQL agent A: \(megabytes(first.memory())); agent B: \(megabytes(second.memory()))")
    say(String(format: "ratio two agents / one agent on PostgreSQL:     %8.2f", rate(two) / rate(one)))
    say(String(format: "ratio one agent PostgreSQL / SQLite:            %8.2f", rate(one) / rate(sqliteLoad)))
}

var failed = false
do {
    try await measure()
} catch {
    say("StoreBench failed: \(error)")
    failed = true
}
parent.stop()
try? FileManager.default.removeItem(atPath: directory)
if failed { exit(1) }
