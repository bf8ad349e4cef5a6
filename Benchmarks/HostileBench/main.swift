// HostileBench: a real `delegsync serve` in front of a real BIND parent (and an NSD child that
// answers the content checks), first quiet, then under attack, in one run. One legitimate child
// sends a signed NS change every second throughout; the bench prints its time to NOERROR (p50,
// p99), the agent's CPU and peak RSS, and how much the store grew, for both phases.
//
// The attack, all at once and all on loopback (issue 11, item 7):
// - invalid-signature UPDATEs over UDP from 250 source addresses (127.0.1.x);
// - self-signed uploads over TCP whose keys collide with the child's key tag (127.0.2.x);
// - 64 slowloris connections trickling a byte a second (8 each from 127.0.3.1–8);
// - uploads of RSA keys with a 3071-bit public exponent (127.0.4.x).
//
// Run as root (BIND listens only on configured addresses: the lab adds and removes the alias):
//     make bench-hostile            (HOSTILE_SECONDS=30 by default for each phase)

import BenchSupport
import DNSWire
import Foundation
import LabSupport
import SIG0
import Transport

#if canImport(Glibc)
    import Glibc
#endif

let phaseSeconds = Int(ProcessInfo.processInfo.environment["HOSTILE_SECONDS"] ?? "") ?? 30
let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("delegsync").path
guard FileManager.default.isExecutableFile(atPath: binary) else {
    say("no delegsync next to the bench at \(binary): swift build -c release --product delegsync")
    exit(1)
}
for kind in [LabServer.Kind.bind, .nsd] {
    if let missing = LabServer.missing(kind) {
        say(missing)
        exit(1)
    }
}

let zone = try DomainName("parent.")
let child = try DomainName("child.parent.")
let agentPort = Loopback.agentPort

// The parent (BIND, RFC 2136 + TSIG) and the child (NSD; ns1 and ns2 both answer on one address).
let parent = try LabServer.bind(
    zone: "parent.",
    zoneFileText: """
        $ORIGIN parent.
        $TTL 3600
        @ IN SOA ns1.parent. hostmaster.parent. 2026010101 3600 900 604800 300
        @ IN NS ns1.parent.
        ns1 IN A 192.0.2.53
        child IN NS ns1.child.parent.
        ns1.child IN A 127.0.0.142

        """, address: "127.0.0.141", port: 15341)
defer { parent.stop() }
let childServer = try LabServer.nsd(
    zone: "child.parent.",
    zoneFileText: """
        $ORIGIN child.parent.
        $TTL 3600
        @ IN SOA ns1 hostmaster 1 3600 900 604800 300
        @ IN NS ns1
        @ IN NS ns2
        ns1 IN A 127.0.0.142
        ns2 IN A 127.0.0.142

        """, address: "127.0.0.142", port: 53)
defer { childServer.stop() }

// The agent: its configuration, the child's trusted key, `delegsync serve`.
let directory = try Tool.temporaryDirectory("hostile")
defer { try? FileManager.default.removeItem(atPath: directory) }
let config = "\(directory)/delegsync.yaml"
try """
version: 1
listen: [{ address: 127.0.0.1, port: \(agentPort) }]
store: { path: \(directory)/state.sqlite }
log-level: warning
limits: { updates-per-child-per-hour: 100000 }
zones:
  - name: parent.
    primary: { address: \(parent.address), port: \(parent.port) }
    backend: { type: rfc2136, tsig-key-file: \(parent.tsigKeyFile!) }

""".write(toFile: config, atomically: true, encoding: .utf8)
let key = try BINDKeyFile.generate(owner: child)
let keyBase = try key.write(to: directory, created: Date())
let imported = try Tool.run(binary, ["keys", "import", "--config", config, keyBase + ".key", "--trusted"])
guard imported.status == 0 else {
    say("keys import failed: \(imported.stderr)")
    exit(1)
}
let serve = Process()
serve.executableURL = URL(fileURLWithPath: binary)
serve.arguments = ["serve", "--config", config]
serve.standardOutput = FileHandle.nullDevice
serve.standardError = FileHandle(forWritingAtPath: "/dev/null")
try serve.run()
defer {
    serve.terminate()
    serve.waitUntilExit()
}
for _ in 0..<100 {
    var probe = Message(question: [Question(name: zone, type: .soa)])
    probe.id = 1
    if (try? await DNSClient(timeout: .milliseconds(200)).exchange(try probe.wireFormat(), host: "127.0.0.1", port: agentPort, transport: .tcp)) != nil {
        break
    }
    try await Task.sleep(for: .milliseconds(50))
}

// MARK: Measuring the agent

/// CPU seconds (user + system) and peak resident set of the agent, from /proc.
func agentUsage() -> (cpu: Double, peakMiB: Double) {
    let pid = serve.processIdentifier
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    // Fields after the command name in parentheses: utime is the 14th field, stime the 15th.
    let fields = stat.split(separator: ")").last.map { $0.split(separator: " ") } ?? []
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    let cpu = fields.count > 13 ? (Double(fields[11]) ?? 0) / ticks + (Double(fields[12]) ?? 0) / ticks : 0
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let hwm = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Double($0) }
    return (cpu, (hwm ?? 0) / 1024)
}

func storeBytes() -> Int {
    ["", "-wal", "-shm"].reduce(0) { total, suffix in
        let attributes = try? FileManager.default.attributesOfItem(atPath: "\(directory)/state.sqlite\(suffix)")
        return total + (attributes?[.size] as? Int ?? 0)
    }
}

// MARK: The legitimate child

let signer = try SIG0Signer(keyFile: key)

/// One signed change (ns2 in, then out again), over TCP; seconds to NOERROR, or why not.
func legitimateChange(_ round: Int) async -> Result<Double, Refusal> {
    let ns2 = try! DomainName("ns2.child.parent.")
    var update = Update(zone: zone)
    if round % 2 == 0 {
        update.add(try! Record("child.parent. 3600 IN NS ns2.child.parent."))
        update.add(try! Record("ns2.child.parent. 3600 IN A 127.0.0.142"))
    } else {
        update.delete(try! Record("child.parent. 3600 IN NS ns2.child.parent."))
        update.deleteRRset(ns2, .a)
    }
    let start = monotonicSeconds()
    do {
        let bytes = try signer.sign(update.message(id: .random(in: 0...UInt16.max), edns: EDNS()).wireFormat(), now: UInt32(Date().timeIntervalSince1970))
        let reply = try Message(wire: await DNSClient(timeout: .seconds(10)).exchange(bytes, host: "127.0.0.1", port: agentPort, transport: .tcp))
        guard reply.rcode == RCode.noError else {
            return .failure(Refusal(text: "\(reply.rcode): \(reply.edns?.extendedError?.extraText ?? "")"))
        }
        return .success(monotonicSeconds() - start)
    } catch {
        return .failure(Refusal(text: "\(error)"))
    }
}

struct Refusal: Error {
    let text: String
}

struct Phase {
    var latencies: [Double] = []
    var failures = 0
    var reasons: [String: Int] = [:]
    var cpu = 0.0
    var peakMiB = 0.0
    var storeGrowth = 0
    var wall = 0.0

    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return .nan }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }
}

/// The legitimate child for `seconds`, a change a second; the agent measured around it.
func phase(seconds: Int, firstRound: Int) async -> Phase {
    var round = firstRound
    var result = Phase()
    let before = agentUsage(), bytes = storeBytes(), start = monotonicSeconds()
    for _ in 0..<seconds {
        let tick = monotonicSeconds()
        switch await legitimateChange(round) {
        case .success(let latency): result.latencies.append(latency)
        case .failure(let refusal):
            result.failures += 1
            result.reasons[String(refusal.text.prefix(160)), default: 0] += 1
        }
        round += 1
        let rest = 1.0 - (monotonicSeconds() - tick)
        if rest > 0 { try? await Task.sleep(for: .milliseconds(Int(rest * 1000))) }
    }
    let after = agentUsage()
    result.wall = monotonicSeconds() - start
    result.cpu = after.cpu - before.cpu
    result.peakMiB = after.peakMiB
    result.storeGrowth = storeBytes() - bytes
    return result
}

// MARK: The attack

/// Sockets from loopback source addresses (Linux routes all of 127/8 to lo) to the agent.
enum Loopback {
    static let agentPort = 15441

    static func socket(from source: String, type: Int32) -> Int32? {
        let fd = Glibc.socket(AF_INET, type, 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard fd >= 0, bound == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    static var agent: sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(agentPort).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    static func connectTCP(from source: String) -> Int32? {
        guard let fd = socket(from: source, type: Int32(SOCK_STREAM.rawValue)) else { return nil }
        var address = agent
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Sends one framed message and waits for the answer (or the close).
    static func exchangeTCP(_ message: [UInt8], from source: String) {
        guard let fd = connectTCP(from: source) else { return }
        defer { close(fd) }
        let framed = TCPFraming.frame(message)
        _ = send(fd, framed, framed.count, Int32(MSG_NOSIGNAL))
        var buffer = [UInt8](repeating: 0, count: 4096)
        _ = recv(fd, &buffer, buffer.count, 0)
    }

    static func sendUDP(_ fd: Int32, _ message: [UInt8]) {
        var address = agent
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, message, message.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// A message with a SIG(0) whose signature is `signature` (not checked by anyone here).
func withSIG(_ unsigned: [UInt8], signer name: DomainName, algorithm: UInt8, keyTag: UInt16, signature: [UInt8]) -> [UInt8] {
    let now = UInt32(Date().timeIntervalSince1970)
    let sig = SIGData(
        typeCovered: RRType(0), algorithm: algorithm, labels: 0, originalTTL: 0, expiration: now + 300, inception: now - 300, keyTag: keyTag,
        signerName: name, signature: signature)
    var out = unsigned
    let count = (UInt16(out[10]) << 8 | UInt16(out[11])) + 1
    out[10] = UInt8(count >> 8)
    out[11] = UInt8(count & 0xFF)
    let rdata = sig.rdata
    out += [0, 0, 24, 0, 255, 0, 0, 0, 0, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
    return out
}

/// The self-signed upload of `keyFile` (delete ANY KEY, add the key), signed by it.
func upload(_ keyFile: BINDKeyFile) throws -> [UInt8] {
    var update = Update(zone: zone)
    update.deleteRRset(child, .key)
    update.add(keyFile.record)
    return try SIG0Signer(keyFile: keyFile).sign(update.message(id: .random(in: 0...UInt16.max), edns: EDNS()).wireFormat(), now: UInt32(Date().timeIntervalSince1970))
}

say("preparing the attack: brute-forcing keys that collide with the child's key tag \(key.keyTag) …")
let colliding = try (0..<2).map { _ in try CollidingKey.make(owner: child, tag: key.keyTag, notRDATA: key.keyData.rdata) }
let collidingUploads = try colliding.map(upload)
// Invalid signatures over UDP: the child's name and tag, a signature that is noise.
let forged: [UInt8] = {
    var update = Update(zone: zone)
    update.add(try! Record("child.parent. 60 IN NS ns.evil.example."))
    let unsigned = try! update.message(id: 7, edns: EDNS()).wireFormat()
    return withSIG(unsigned, signer: child, algorithm: 15, keyTag: key.keyTag, signature: (0..<64).map { _ in UInt8.random(in: 0...255) })
}()
// An RSA KEY with a 3071-bit exponent (RFC 3110: a zero octet, a two-octet length, then it).
let rsaUpload: [UInt8] = {
    let exponent: [UInt8] = [0x80] + (1..<384).map { _ in UInt8.random(in: 0...255) } + [0x01]
    let modulus: [UInt8] = [0xC0] + (1..<255).map { _ in UInt8.random(in: 0...255) } + [0x01]
    let publicKey = [0, UInt8(exponent.count >> 8), UInt8(exponent.count & 0xFF)] + exponent + modulus
    let rdata = KEYData(flags: 512, algorithm: 8, publicKey: publicKey).rdata
    var update = Update(zone: zone)
    update.deleteRRset(child, .key)
    update.add(Record(name: child, type: .key, ttl: 3600, rdata: rdata))
    let unsigned = try! update.message(id: 9, edns: EDNS()).wireFormat()
    return withSIG(unsigned, signer: child, algorithm: 8, keyTag: KEYData.keyTag(rdata: rdata), signature: (0..<256).map { _ in UInt8.random(in: 0...255) })
}()

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    func add(_ name: String, _ n: Int = 1) {
        lock.lock()
        counts[name, default: 0] += n
        lock.unlock()
    }
    var snapshot: [String: Int] {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }
}

/// Runs the attack on threads of its own until `until` (monotonic seconds).
func attack(until: Double, counter: Counter, forged: [UInt8], collidingUploads: [[UInt8]], rsaUpload: [UInt8]) -> [Thread] {
    var threads: [Thread] = []
    // UDP flood from 250 sources, paced to about 20,000 packets a second.
    threads.append(
        Thread {
            let sockets = (1...250).compactMap { Loopback.socket(from: "127.0.1.\($0)", type: Int32(SOCK_DGRAM.rawValue)) }
            defer { sockets.forEach { close($0) } }
            while monotonicSeconds() < until {
                let start = monotonicSeconds()
                for fd in sockets {
                    for _ in 0..<8 { Loopback.sendUDP(fd, forged) }
                }
                counter.add("udp forged", sockets.count * 8)
                let rest = 0.1 - (monotonicSeconds() - start)
                if rest > 0 { usleep(useconds_t(rest * 1_000_000)) }
            }
        })
    // Colliding uploads over TCP, about 20 a second from rotating sources.
    threads.append(
        Thread {
            var index = 0
            while monotonicSeconds() < until {
                Loopback.exchangeTCP(collidingUploads[index % collidingUploads.count], from: "127.0.2.\(index % 250 + 1)")
                counter.add("tcp colliding uploads")
                index += 1
                usleep(50_000)
            }
        })
    // RSA keys with huge exponents, about 10 a second.
    threads.append(
        Thread {
            var index = 0
            while monotonicSeconds() < until {
                Loopback.exchangeTCP(rsaUpload, from: "127.0.4.\(index % 250 + 1)")
                counter.add("tcp rsa uploads")
                index += 1
                usleep(100_000)
            }
        })
    // 64 slowloris connections, a byte a second each, reopened when the agent closes them.
    threads.append(
        Thread {
            var connections: [(fd: Int32, source: String)] = (0..<64).compactMap { index in
                let source = "127.0.3.\(index % 8 + 1)"
                return Loopback.connectTCP(from: source).map { ($0, source) }
            }
            while monotonicSeconds() < until {
                for index in connections.indices {
                    if send(connections[index].fd, [0x00], 1, Int32(MSG_NOSIGNAL)) != 1 {
                        close(connections[index].fd)
                        counter.add("slowloris reopened")
                        if let fd = Loopback.connectTCP(from: connections[index].source) { connections[index].fd = fd }
                    }
                }
                sleep(1)
            }
            connections.forEach { close($0.fd) }
        })
    threads.forEach { $0.start() }
    return threads
}

// MARK: The run

say("quiet: one signed NS change a second for \(phaseSeconds) s …")
let quiet = await phase(seconds: phaseSeconds, firstRound: 0)
say("under attack: the same, for \(phaseSeconds) s …")
let counter = Counter()
let threads = attack(
    until: monotonicSeconds() + Double(phaseSeconds) + 1, counter: counter, forged: forged, collidingUploads: collidingUploads, rsaUpload: rsaUpload)
try await Task.sleep(for: .milliseconds(500))
let hostile = await phase(seconds: phaseSeconds, firstRound: phaseSeconds)
while threads.contains(where: { $0.isExecuting }) { try await Task.sleep(for: .milliseconds(100)) }

func row(_ name: String, _ p: Phase) -> String {
    String(
        format: "%-13@ p50 %7.1f ms  p99 %7.1f ms  ok %3d  failed %2d  agent CPU %5.1f s (%4.0f %% of a core)  peak RSS %6.1f MiB  store +%7.2f MiB",
        name as NSString, p.percentile(0.5) * 1000, p.percentile(0.99) * 1000, p.latencies.count, p.failures, p.cpu, p.cpu / p.wall * 100, p.peakMiB,
        Double(p.storeGrowth) / 1_048_576)
}
say("")
say(row("quiet", quiet))
say(row("under attack", hostile))
say(String(format: "p50 under attack / quiet: %.2f", hostile.percentile(0.5) / quiet.percentile(0.5)))
for (name, p) in [("quiet", quiet), ("under attack", hostile)] {
    for (reason, count) in p.reasons.sorted(by: { $0.value > $1.value }) { say("\(name): \(count)× failed: \(reason)") }
}
say("attack sent: " + counter.snapshot.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
let targets = [
    ("p99 under attack < 1 s", hostile.percentile(0.99) < 1),
    ("p50 under attack within 2x quiet", hostile.percentile(0.5) <= 2 * quiet.percentile(0.5)),
    ("agent peak RSS < 200 MiB", hostile.peakMiB < 200),
    ("store growth < 10 MiB", hostile.storeGrowth < 10 * 1_048_576),
    ("no legitimate change failed", hostile.failures == 0 && quiet.failures == 0),
]
for (name, met) in targets { say("\(met ? "met" : "NOT MET"): \(name)") }
