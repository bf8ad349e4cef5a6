// CommitBench: how fast a change signed by a child gets committed at a real BIND parent through
// `delegsync serve`, against BIND's own speed for the same change sent straight to it with TSIG
// (issue 15, item 6). Two measurements in one run, both printed as ratios:
//
// 1. One change at a time: the same NS change (add ns2 with glue, then delete it again), by
//    BIND's `nsupdate -v` over TCP — signed with the child's SIG(0) key to `delegsync serve`,
//    and with the TSIG key straight to BIND. Medians of each, and delegsync / direct.
// 2. 1,000 children each sending one change at once: changes committed per second through
//    delegsync (SIG(0) UPDATEs over TCP, every one answered NOERROR only once committed) against
//    BIND's rate for the same changes sent to it at once as TSIG UPDATEs.
//
// The agent's content checks are off (they ask the children's servers, which this bench does not
// run), and its transport limits are raised so 1,000 children may talk at once.
//
// Run as root (BIND listens only on configured addresses: the lab adds and removes the alias):
//     make bench          (COMMIT_CHILDREN=1000, COMMIT_ROUNDS=15; DELEGSYNC=path to another binary)

import BenchSupport
import DNSWire
import DelegationCore
import Foundation
import LabSupport
import SIG0
import Store
import Transport

let environment = ProcessInfo.processInfo.environment
let childCount = Int(environment["COMMIT_CHILDREN"] ?? "") ?? 1000
let rounds = Int(environment["COMMIT_ROUNDS"] ?? "") ?? 15
let binary =
    environment["DELEGSYNC"] ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("delegsync").path
guard FileManager.default.isExecutableFile(atPath: binary) else {
    say("no delegsync at \(binary): swift build -c release --product delegsync")
    exit(1)
}
guard LabServer.missing(.bind) == nil, let nsupdate = Tool.find("nsupdate") else {
    say(LabServer.missing(.bind) ?? "nsupdate (bind9-dnsutils) is missing")
    exit(1)
}

let zone = try DomainName("parent.")
let agentAddress = "127.0.0.80", agentPort = 16051
let glueAddress = "127.0.0.81"
func label(_ index: Int) -> String { String(format: "b%04d", index) }

// The parent: one delegation for the single-change measurement, `childCount` for the crowd.
let parent = try LabServer.bind(
    zone: "parent.",
    zoneFileText: benchParentZone(
        childAddress: "127.0.0.82",
        more: (0..<childCount).map { "\(label($0)) IN NS ns1.\(label($0)).parent.\nns1.\(label($0)) IN A 192.0.2.1\n" }.joined()),
    address: "127.0.0.79", port: 16050)
defer { parent.stop() }
let tsigKey = try TSIGKey(bindKeyFile: String(contentsOfFile: parent.tsigKeyFile!, encoding: .utf8))

// The agent: configuration, trusted keys (written straight into its store), `delegsync serve`.
let directory = try Tool.temporaryDirectory("commitbench")
defer { try? FileManager.default.removeItem(atPath: directory) }
let config = "\(directory)/delegsync.yaml"
try """
version: 1
listen: [{ address: \(agentAddress), port: \(agentPort) }]
store: { path: \(directory)/state.sqlite }
log-level: warning
limits:
  updates-per-child-per-hour: 100000
  max-tcp-connections: 4000
  max-tcp-connections-per-source: 4000
  max-tcp-connections-per-prefix: 4000
  max-in-flight: 2000
  verifications-per-source-per-second: 1000000
  max-verifications-in-flight: 1024
zones:
  - name: parent.
    primary: { address: \(parent.address), port: \(parent.port) }
    backend: { type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }
    content-checks: { ns-authoritative: false, ds-matches-dnskey: false, ds-removal-needs-cds-delete: false }

""".write(toFile: config, atomically: true, encoding: .utf8)

let childKey = try BINDKeyFile.generate(owner: try DomainName("child.parent."))
let childKeyBase = try childKey.write(to: directory, created: Date())
say("generating \(childCount) children's keys …")
let crowdKeys = try (0..<childCount).map { try BINDKeyFile.generate(owner: try DomainName("\(label($0)).parent.")) }
do {
    let store = try SQLiteStore(path: "\(directory)/state.sqlite")
    for key in [childKey] + crowdKeys {
        try store.putKey(
            StoredKey(
                zone: zone, child: key.record.name, keyTag: key.keyTag, algorithm: 15, rdata: key.keyData.rdata, state: .trusted, addedAt: 0, origin: "bench"))
    }
}

let serve = Process()
serve.executableURL = URL(fileURLWithPath: binary)
serve.arguments = ["serve", "--config", config]
serve.standardOutput = FileHandle.nullDevice
serve.standardError = FileHandle.standardError
try serve.run()
defer {
    serve.terminate()
    serve.waitUntilExit()
}
// Interrupted (Ctrl-C, `timeout`): stop BIND and the agent before leaving, as the defers would.
let signalSources = [SIGINT, SIGTERM].map { number in
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
    source.setEventHandler {
        serve.terminate()
        parent.stop()
        try? FileManager.default.removeItem(atPath: directory)
        exit(1)
    }
    source.resume()
    return source
}
for _ in 0..<100 {
    var probe = Message(question: [Question(name: zone, type: .soa)])
    probe.id = 1
    if (try? await DNSClient(timeout: .milliseconds(200)).exchange(try probe.wireFormat(), host: agentAddress, port: agentPort, transport: .tcp)) != nil {
        break
    }
    try await Task.sleep(for: .milliseconds(50))
}

// MARK: 1. One change at a time, by nsupdate

/// The nsupdate script adding (`add`) or deleting ns2 of `child.parent.` at `server`.
func script(add: Bool, server: String, port: Int) -> String {
    let body =
        add
        ? "update add child.parent. 3600 IN NS ns2.child.parent.\nupdate add ns2.child.parent. 3600 IN A \(glueAddress)\n"
        : "update delete child.parent. 3600 IN NS ns2.child.parent.\nupdate delete ns2.child.parent. A\n"
    return "server \(server) \(port)\nzone parent.\n\(body)send\n"
}

/// Seconds for one `nsupdate -v -k KEY` run of `script`; throws when it fails.
func timedNSUpdate(key: String, _ script: String) throws -> Double {
    let start = monotonicSeconds()
    let result = try Tool.run(nsupdate, ["-v", "-t", "10", "-k", key], input: Data(script.utf8))
    let elapsed = monotonicSeconds() - start
    guard result.status == 0 else { fail("nsupdate failed (\(result.status)): \(result.stderr)") }
    return elapsed
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

say("one change at a time: \(rounds) × (add, delete) each way …")
var direct: [Double] = [], viaAgent: [Double] = []
for _ in 0..<rounds {
    for add in [true, false] {
        direct.append(try timedNSUpdate(key: parent.tsigKeyFile!, script(add: add, server: parent.address, port: parent.port)))
        viaAgent.append(try timedNSUpdate(key: childKeyBase + ".private", script(add: add, server: agentAddress, port: agentPort)))
    }
}
let singleRatio = median(viaAgent) / median(direct)

// MARK: 2. 1,000 children at once

/// Child `index`'s change: ns2 (with glue) in, or out again.
func crowdUpdate(_ index: Int, add: Bool) -> Update {
    let ns2 = try! DomainName("ns2.\(label(index)).parent.")
    let ns = try! Record("\(label(index)).parent. 3600 IN NS ns2.\(label(index)).parent.")
    var update = Update(zone: zone)
    if add {
        update.add(ns)
        update.add(try! Record("ns2.\(label(index)).parent. 3600 IN A \(glueAddress)"))
    } else {
        update.delete(ns)
        update.deleteRRset(ns2, .a)
    }
    return update
}

/// Sends the messages over TCP (one connection each) to `host`:`port`, at most `concurrency` at
/// a time; returns the seconds until the last answer and how many were NOERROR.
func burst(_ messages: [[UInt8]], host: String, port: Int, concurrency: Int) async -> (seconds: Double, ok: Int, failures: [String: Int]) {
    let start = monotonicSeconds()
    let outcomes = await withTaskGroup(of: String?.self) { group in
        var outcomes: [String?] = []
        for (index, message) in messages.enumerated() {
            if index >= concurrency, let outcome = await group.next() { outcomes.append(outcome) }
            group.addTask {
                do {
                    let reply = try Message(wire: await DNSClient(timeout: .seconds(60)).exchange(message, host: host, port: port, transport: .tcp))
                    return reply.rcode == .noError ? nil : "\(reply.rcode) \(reply.edns?.extendedError?.extraText ?? "")"
                } catch {
                    return "\(error)"
                }
            }
        }
        for await outcome in group { outcomes.append(outcome) }
        return outcomes
    }
    let failures = Dictionary(outcomes.compactMap { $0.map { String($0.prefix(120)) } }.map { ($0, 1) }, uniquingKeysWith: +)
    return (monotonicSeconds() - start, outcomes.filter { $0 == nil }.count, failures)
}

/// Leaves early: BIND and the agent stopped first (`exit` skips the defers).
func fail(_ message: String) -> Never {
    say(message)
    serve.terminate()
    parent.stop()
    try? FileManager.default.removeItem(atPath: directory)
    exit(1)
}

func tsigMessages(add: Bool) throws -> [[UInt8]] {
    let now = UInt64(Date().timeIntervalSince1970)
    return try (0..<childCount).map { try tsigSigned(crowdUpdate($0, add: add).message(id: .random(in: 0...UInt16.max)).wireFormat(), key: tsigKey, time: now) }
}

say("\(childCount) children at once: straight to BIND with TSIG …")
// BIND serves 150 TCP clients at once by default (`tcp-clients`): 100 connections at a time.
let bindRun = await burst(try tsigMessages(add: true), host: parent.address, port: parent.port, concurrency: 100)
let bindRate = Double(bindRun.ok) / bindRun.seconds
// Back to where the children started, untimed, so delegsync makes the same changes.
let reverted = await burst(try tsigMessages(add: false), host: parent.address, port: parent.port, concurrency: 100)
guard bindRun.ok == childCount, reverted.ok == childCount else { fail("BIND did not take every change: \(bindRun.failures) \(reverted.failures)") }
say("\(childCount) children at once: SIG(0) through delegsync …")
let now = UInt32(Date().timeIntervalSince1970)
let signed = try (0..<childCount).map { index in
    try SIG0Signer(keyFile: crowdKeys[index]).sign(crowdUpdate(index, add: true).message(id: .random(in: 0...UInt16.max), edns: EDNS()).wireFormat(), now: now)
}
let agentRun = await burst(signed, host: agentAddress, port: agentPort, concurrency: childCount)
let agentRate = Double(agentRun.ok) / agentRun.seconds
// Every change answered NOERROR is in the zone.
let sample = [0, childCount / 2, childCount - 1]
for index in sample {
    let served = try parent.dig(["+norec", "\(label(index)).parent.", "NS"])
    if !served.contains("ns2.\(label(index)).parent.") { say("NOT SERVED after NOERROR: \(label(index))") }
}

say("")
say(String(format: "single change, nsupdate -v: direct TSIG to BIND median %6.1f ms", median(direct) * 1000))
say(String(format: "single change, nsupdate -v: SIG(0) via delegsync median %6.1f ms", median(viaAgent) * 1000))
say(String(format: "single change: delegsync / direct = %.2f (target <= 1.2)", singleRatio))
say(String(format: "%d children at once, TSIG straight to BIND: %5d ok in %6.2f s = %7.1f changes/s", childCount, bindRun.ok, bindRun.seconds, bindRate))
say(String(format: "%d children at once, SIG(0) via delegsync:  %5d ok in %6.2f s = %7.1f changes/s", childCount, agentRun.ok, agentRun.seconds, agentRate))
say(String(format: "%d children at once: delegsync / BIND = %.2f (target >= 0.5)", childCount, agentRate / bindRate))
for (reason, count) in bindRun.failures.merging(agentRun.failures, uniquingKeysWith: +).sorted(by: { $0.value > $1.value }) {
    say("\(count)× failed: \(reason)")
}
say("\(singleRatio <= 1.2 ? "met" : "NOT MET"): single change via delegsync within 1.2 × direct")
say("\(agentRate / bindRate >= 0.5 ? "met" : "NOT MET"): batched commits at least 0.5 × BIND's own rate")
signalSources.forEach { $0.cancel() }
