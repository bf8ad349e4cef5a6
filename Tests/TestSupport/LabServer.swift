import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real nameserver (BIND, Knot or NSD) for integration tests, as /work/shared/LAB.md describes:
/// a fresh temp directory with config, zone file and keys; the daemon started by absolute path
/// in the foreground on a loopback address of its own (the alias is added when missing and
/// removed again); ready once `dig` gets an answer; stopped by its own PID.
///
/// Call ``stop()`` in a `defer`; `deinit` and an exit handler also kill what is still running,
/// so a failing test leaves nothing behind. Tests use 127.0.0.101–127.0.0.120.
public final class LabServer: @unchecked Sendable {
    public enum Kind: String, Sendable {
        case bind, knot, nsd

        /// The daemon's absolute path.
        var daemon: String {
            switch self {
            case .bind: "/usr/sbin/named"
            case .knot: "/usr/sbin/knotd"
            case .nsd: "/usr/sbin/nsd"
            }
        }

        var tools: [String] {
            switch self {
            case .bind: [daemon]
            case .knot: [daemon]
            case .nsd: [daemon, "/usr/sbin/nsd-control", "/usr/sbin/nsd-checkzone"]
            }
        }
    }

    public let kind: Kind
    public let zone: String
    public let address: String
    /// More addresses the daemon listens on (same port), each with its alias: one server
    /// standing for several nameservers of a zone.
    public let alsoListenOn: [String]
    public let port: Int
    public let directory: String
    public let zoneFile: String
    /// The daemon's configuration file (named.conf, knot.conf, nsd.conf).
    public let configFile: String
    /// TSIG key for updates (BIND and Knot): name, base64 secret, and a BIND-format key file.
    public let tsigKeyName: String?
    public let tsigSecret: String?
    public let tsigKeyFile: String?
    /// NSD's remote-control socket (a Unix socket in the directory: no TLS keys, no port).
    public var controlSocket: String { "\(directory)/nsd.ctl" }
    public let logFile: String
    /// Where the zone's NOTIFYs go after a change (RFC 1996), e.g. `delegsync child watch`.
    public let notify: (address: String, port: Int)?
    /// More NOTIFY targets (BIND): secondaries whose listed primary is not this server.
    public let alsoNotify: [(address: String, port: Int)]
    /// For a secondary (BIND or Knot): where it transfers the zone from.
    public let primary: (address: String, port: Int)?
    /// For a secondary: UPDATEs are forwarded to the primary (BIND `allow-update-forwarding {
    /// any; }`, Knot an `update` ACL), and NOTIFY is accepted from these addresses too.
    public let forwardsUpdates: Bool
    public let allowNotify: [String]
    /// Further zones a BIND primary serves (name → zone file text), each from ``moreZoneFile(_:)``.
    public let moreZones: [String: String]
    /// BIND's `allow-transfer` list.
    public let allowTransfer: String
    /// The daemon's configuration when it is not a standard one (``custom(kind:zone:zoneFileText:address:port:config:files:alsoListenOn:)``).
    let customConfig: String?
    public private(set) var pid: pid_t = 0
    private var process: Process?
    private var aliasHeld = false
    private var extraAliasesHeld: [String] = []
    private var stopped = false

    /// Why `kind` cannot run here (a missing binary), or nil.
    public static func missing(_ kind: Kind) -> String? {
        for tool in kind.tools + ["/usr/bin/dig", "/usr/sbin/ip"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is not installed"
        }
        if getuid() != 0 { return "lab servers need root (loopback aliases)" }
        return nil
    }

    /// Replaces `{DIR}` with the server's directory in zone and extra file texts.
    public static let directoryPlaceholder = "{DIR}"

    // MARK: Starting

    /// named (BIND 9) as primary for `zone`, with `update-policy { grant KEY zonesub NS DS A AAAA KEY DNSKEY CDS CDNSKEY DSYNC SVCB; }`
    /// (DNSKEY, CDS and CDNSKEY so tests can change a child's keys the way its operator would,
    /// DSYNC and SVCB for what `delegsync publish-records` prints).
    ///
    /// `moreZones` (name → zone file text) are served as further primary zones, e.g. a child
    /// zone next to its parent; `allowTransfer` is the `allow-transfer` address match list.
    public static func bind(
        zone: String, zoneFileText: String, address: String, port: Int, tsigKeyName: String? = "tsig-key.", tsigSecret: String? = nil,
        files: [String: String] = [:], notify: (address: String, port: Int)? = nil, alsoListenOn: [String] = [], moreZones: [String: String] = [:],
        allowTransfer: String = "any", alsoNotify: [(address: String, port: Int)] = []
    ) throws -> LabServer {
        try LabServer(
            kind: .bind, zone: zone, zoneFileText: zoneFileText, address: address, port: port, tsigKeyName: tsigKeyName, tsigSecret: tsigSecret,
            files: files, notify: notify, alsoListenOn: alsoListenOn, moreZones: moreZones, allowTransfer: allowTransfer, alsoNotify: alsoNotify)
    }

    /// named (BIND 9) as a secondary for `zone`, transferring from `primary` (which NOTIFYs it
    /// when created with `notify:` pointing here).
    /// With `forwardsUpdates` it passes UPDATEs on to `primary` (`allow-update-forwarding { any;
    /// }`); `allowNotify` lists addresses besides `primary` whose NOTIFY it accepts.
    public static func bindSecondary(
        zone: String, primary: (address: String, port: Int), address: String, port: Int, forwardsUpdates: Bool = false, allowNotify: [String] = []
    ) throws -> LabServer {
        try LabServer(
            kind: .bind, zone: zone, zoneFileText: "", address: address, port: port, tsigKeyName: nil, files: [:], notify: nil, primary: primary,
            forwardsUpdates: forwardsUpdates, allowNotify: allowNotify)
    }

    /// knotd (Knot DNS 3) as a secondary for `zone`, transferring from `primary`, forwarding
    /// UPDATEs from anyone to it (an `update` ACL on a secondary zone), and accepting NOTIFY from
    /// `allowNotify` as well as from `primary`.
    public static func knotSecondary(zone: String, primary: (address: String, port: Int), address: String, port: Int, allowNotify: [String] = [])
        throws -> LabServer
    {
        try LabServer(
            kind: .knot, zone: zone, zoneFileText: "", address: address, port: port, tsigKeyName: nil, files: [:], notify: nil, primary: primary,
            forwardsUpdates: true, allowNotify: allowNotify)
    }

    /// knotd (Knot DNS 3) as primary for `zone`, with an update ACL for the key.
    public static func knot(
        zone: String, zoneFileText: String, address: String, port: Int, tsigKeyName: String? = "tsig-key.", files: [String: String] = [:],
        notify: (address: String, port: Int)? = nil, alsoListenOn: [String] = []
    ) throws -> LabServer {
        try LabServer(
            kind: .knot, zone: zone, zoneFileText: zoneFileText, address: address, port: port, tsigKeyName: tsigKeyName, files: files, notify: notify,
            alsoListenOn: alsoListenOn)
    }

    /// A daemon of `kind` serving `zone` from `zoneFileText` with the configuration `config`, for
    /// what the standard configurations do not cover (DNSSEC signing, a control channel):
    /// `{DIR}` stands for the server's directory, the zone file is `{DIR}/zone.db`, the daemon
    /// must listen on `address` (and `alsoListenOn`) at `port` and run in the foreground.
    public static func custom(
        kind: Kind, zone: String, zoneFileText: String, address: String, port: Int, config: String, files: [String: String] = [:],
        alsoListenOn: [String] = []
    ) throws -> LabServer {
        try LabServer(
            kind: kind, zone: zone, zoneFileText: zoneFileText, address: address, port: port, tsigKeyName: nil, files: files,
            alsoListenOn: alsoListenOn, customConfig: config)
    }

    /// nsd (NSD 4) serving `zone` from its zone file, with remote control on a Unix socket
    /// (``controlSocket``) for `nsd-control -c configFile reload`.
    public static func nsd(
        zone: String, zoneFileText: String, address: String, port: Int, files: [String: String] = [:], notify: (address: String, port: Int)? = nil,
        alsoListenOn: [String] = []
    ) throws -> LabServer {
        try LabServer(
            kind: .nsd, zone: zone, zoneFileText: zoneFileText, address: address, port: port, tsigKeyName: nil, files: files, notify: notify,
            alsoListenOn: alsoListenOn)
    }

    init(
        kind: Kind, zone: String, zoneFileText: String, address: String, port: Int, tsigKeyName: String?, tsigSecret givenSecret: String? = nil,
        files: [String: String], notify: (address: String, port: Int)? = nil, primary: (address: String, port: Int)? = nil,
        alsoListenOn: [String] = [], moreZones: [String: String] = [:], allowTransfer: String = "any", alsoNotify: [(address: String, port: Int)] = [],
        forwardsUpdates: Bool = false, allowNotify: [String] = [], customConfig: String? = nil
    ) throws {
        if let missing = Self.missing(kind) { throw ToolError(missing) }
        self.customConfig = customConfig
        self.kind = kind
        self.alsoNotify = alsoNotify
        self.forwardsUpdates = forwardsUpdates
        self.allowNotify = allowNotify
        self.alsoListenOn = alsoListenOn
        self.moreZones = moreZones
        self.allowTransfer = allowTransfer
        self.notify = notify
        self.primary = primary
        self.zone = zone.hasSuffix(".") ? zone : zone + "."
        self.address = address
        self.port = port
        let directory = try Tool.temporaryDirectory("lab-\(kind.rawValue)")
        self.directory = directory
        zoneFile = "\(directory)/zone.db"
        logFile = "\(directory)/daemon.log"
        configFile = "\(directory)/\(kind == .bind ? "named" : kind.rawValue).conf"
        if let tsigKeyName, kind != .nsd {
            let name = tsigKeyName.hasSuffix(".") ? tsigKeyName : tsigKeyName + "."
            var secret = [UInt8](repeating: 0, count: 32)
            for i in secret.indices { secret[i] = UInt8.random(in: 0...255) }
            self.tsigKeyName = name
            tsigSecret = givenSecret ?? Data(secret).base64EncodedString()
            tsigKeyFile = "\(directory)/tsig.key"
        } else {
            self.tsigKeyName = nil
            tsigSecret = nil
            tsigKeyFile = nil
        }
        do {
            // A secondary starts without a zone file and transfers the zone.
            if primary == nil { try write(zoneFileText, to: zoneFile) }
            for (name, text) in files { try write(text, to: "\(directory)/\(name)") }
            for (name, text) in moreZones { try write(text, to: moreZoneFile(name)) }
            if let tsigKeyFile, let tsigKeyName, let tsigSecret {
                try write("key \"\(tsigKeyName)\" {\n\talgorithm hmac-sha256;\n\tsecret \"\(tsigSecret)\";\n};\n", to: tsigKeyFile)
            }
            try write(configText(), to: configFile)
            try Self.holdAlias(address)
            aliasHeld = true
            for extra in alsoListenOn {
                try Self.holdAlias(extra)
                extraAliasesHeld.append(extra)
            }
            try start()
            try waitUntilAnswering()
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// The file of one of ``moreZones``: `child.parent.` → `DIR/child.parent.db`.
    func moreZoneFile(_ name: String) -> String {
        "\(directory)/\(name.hasSuffix(".") ? String(name.dropLast()) : name).db"
    }

    func write(_ text: String, to path: String) throws {
        try text.replacingOccurrences(of: Self.directoryPlaceholder, with: directory).write(toFile: path, atomically: false, encoding: .utf8)
    }

    func configText() -> String {
        if let customConfig { return customConfig }
        let dir = directory
        switch kind {
        case .bind:
            let include = tsigKeyFile.map { "include \"\($0)\";\n" } ?? ""
            var policy = tsigKeyName.map { "\n    update-policy { grant \($0) zonesub NS DS A AAAA KEY DNSKEY CDS CDNSKEY DSYNC SVCB; };" } ?? ""
            if forwardsUpdates { policy += "\n    allow-update-forwarding { any; };" }
            if !allowNotify.isEmpty { policy += "\n    allow-notify { \(allowNotify.map { "\($0);" }.joined(separator: " ")) };" }
            let notifyTargets = (notify.map { [$0] } ?? []) + alsoNotify
            let notifying =
                notifyTargets.isEmpty
                ? "notify no;"
                : "notify explicit;\n    also-notify { \(notifyTargets.map { "\($0.address) port \($0.port);" }.joined(separator: " ")) };\n    notify-source \(address);"
            return """
                options {
                    directory "\(dir)";
                    pid-file "\(dir)/named.pid";
                    session-keyfile "\(dir)/session.key";
                    managed-keys-directory "\(dir)";
                    listen-on port \(port) { \(([address] + alsoListenOn).map { "\($0);" }.joined(separator: " ")) };
                    listen-on-v6 { none; };
                    recursion no;
                    dnssec-validation no;
                    \(notifying)
                    allow-transfer { \(allowTransfer); };
                };
                controls { };
                \(include)zone "\(zone)" {
                    \(primary.map { "type secondary;\n    primaries { \($0.address) port \($0.port); };\n    transfer-source \(address);" } ?? "type primary;")
                    file "\(zoneFile)";\(policy)
                };
                \(moreZones.keys.sorted().map { "zone \"\($0)\" {\n    type primary;\n    file \"\(moreZoneFile($0))\";\n};\n" }.joined())

                """
        case .knot:
            var lines = [
                "server:",
                "    rundir: \"\(dir)\"",
                "    listen: [\(([address] + alsoListenOn).map { "\($0)@\(port)" }.joined(separator: ", "))]",
                "    user: root",
                "database:",
                "    storage: \"\(dir)\"",
                "log:",
                "  - target: stderr",
                "    any: info",
            ]
            if let tsigKeyName, let tsigSecret {
                lines += [
                    "key:",
                    "  - id: \(tsigKeyName)",
                    "    algorithm: hmac-sha256",
                    "    secret: \(tsigSecret)",
                    "acl:",
                    "  - id: update",
                    "    key: \(tsigKeyName)",
                    "    action: update",
                    "    update-type: [NS, DS, A, AAAA, KEY, DNSKEY, CDS, CDNSKEY]",
                ]
            }
            if let primary {
                // A secondary: the primary, NOTIFY from the listed addresses, UPDATEs forwarded.
                lines += ["remote:", "  - id: primary", "    address: \(primary.address)@\(primary.port)", "    via: \(address)", "acl:"]
                lines += ["  - id: notify", "    address: [\((allowNotify + [primary.address]).joined(separator: ", "))]", "    action: notify"]
                if forwardsUpdates { lines += ["  - id: forward", "    address: [0.0.0.0/0, ::/0]", "    action: update"] }
            }
            lines += [
                "zone:",
                "  - domain: \(zone)",
                "    file: \"\(zoneFile)\"",
                "    storage: \"\(dir)\"",
                "    semantic-checks: on",
            ]
            if tsigKeyName != nil { lines.append("    acl: update") }
            if primary != nil { lines += ["    master: primary", "    acl: [notify\(forwardsUpdates ? ", forward" : "")]"] }
            if let notify {
                lines.insert(
                    contentsOf: ["remote:", "  - id: watcher", "    address: \(notify.address)@\(notify.port)", "    via: \(address)"],
                    at: lines.firstIndex(of: "zone:") ?? lines.count)
                lines.append("    notify: watcher")
            }
            return lines.joined(separator: "\n") + "\n"
        case .nsd:
            return """
                server:
                \(([address] + alsoListenOn).map { "    ip-address: \($0)@\(port)" }.joined(separator: "\n"))
                    username: ""
                    chroot: ""
                    zonesdir: "\(dir)"
                    database: ""
                    pidfile: "\(dir)/nsd.pid"
                    xfrdfile: "\(dir)/xfrd.state"
                    xfrdir: "\(dir)"
                    zonelistfile: "\(dir)/zone.list"
                    logfile: "\(dir)/nsd.log"
                    server-count: 1
                    verbosity: 1
                remote-control:
                    control-enable: yes
                    control-interface: "\(dir)/nsd.ctl"
                zone:
                    name: \(zone)
                    zonefile: "\(zoneFile)"
                \(notify.map { "    notify: \($0.address)@\($0.port) NOKEY\n    outgoing-interface: \(address)\n" } ?? "")
                """
        }
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kind.daemon)
        process.arguments =
            switch kind {
            case .bind: ["-c", configFile, "-u", "root", "-g"]
            case .knot: ["-c", configFile]
            case .nsd: ["-d", "-c", configFile]
            }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        guard FileManager.default.createFile(atPath: logFile, contents: nil) else { throw ToolError("cannot create \(logFile)") }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        self.process = process
        pid = process.processIdentifier
        LabServerRegistry.shared.started(pid)
    }

    /// Starts the daemon again after ``stopDaemon()``: same directory, configuration and zone
    /// (BIND reads its journal, so dynamic changes survive); returns once it answers.
    public func restartDaemon() throws {
        precondition(process == nil && !stopped, "restartDaemon() after stopDaemon() only")
        try start()
        try waitUntilAnswering()
    }

    /// Polls `dig +tries=1 +time=1 +norec @ADDR -p PORT ZONE SOA` until the zone answers NOERROR.
    func waitUntilAnswering(timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            guard let process, process.isRunning else {
                throw ToolError("\(kind.rawValue) exited during start-up: \(logTail())")
            }
            if let result = try? dig([zone, "SOA"]) {
                last = result
                if result.contains("status: NOERROR"), result.contains("ANSWER: 1") { return }
            }
            usleep(50_000)
        }
        throw ToolError("\(kind.rawValue) on \(address):\(port) did not answer for \(zone) within \(Int(timeout)) s: \(last)\n\(logTail())")
    }

    /// Runs `dig +tries=1 +time=1 +norec @ADDR -p PORT` with `arguments`; returns stdout.
    /// Replaces the zone file and has the daemon load it (BIND and Knot by their zone-file
    /// reload, NSD by `nsd-control reload`); with ``notify`` set, the daemon then NOTIFYs.
    /// Writes the zone file and reloads it; returns once the server serves another SOA than
    /// before (the reload is asynchronous: a query right after it can still get the old data),
    /// at most 10 s.
    public func reload(zoneFileText: String) throws {
        let before = try? dig(["+short", zone, "SOA"])
        try write(zoneFileText, to: zoneFile)
        defer {
            for _ in 0..<100 where (try? dig(["+short", zone, "SOA"])) == before { usleep(100_000) }
        }
        let result: Tool.Result
        switch kind {
        case .nsd:
            result = try Tool.run("/usr/sbin/nsd-control", ["-c", configFile, "reload", zone])
        case .knot:
            result = try Tool.run("/usr/sbin/knotc", ["-c", configFile, "zone-reload", zone])
        case .bind:
            throw ToolError("BIND here has no control channel: change its zone with an UPDATE")
        }
        guard result.status == 0 else { throw ToolError("\(kind.rawValue) reload failed: \(result.stdout)\(result.stderr)") }
    }

    public func dig(_ arguments: [String]) throws -> String {
        try Tool.run("/usr/bin/dig", ["+tries=1", "+time=1", "+norec", "@\(address)", "-p", "\(port)"] + arguments).stdout
    }

    /// The last lines the daemon logged (its stderr and, for NSD, its log file).
    public func logTail(_ lines: Int = 30) -> String {
        var text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        if kind == .nsd { text += (try? String(contentsOfFile: "\(directory)/nsd.log", encoding: .utf8)) ?? "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    // MARK: Stopping

    /// Stops the daemon (SIGTERM, then SIGKILL after 10 s) by its PID and waits for it; removes
    /// the directory and the address alias if this server added it. Safe to call twice.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        stopDaemon()
        if ProcessInfo.processInfo.environment["LAB_KEEP_DIRS"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
        if aliasHeld {
            Self.releaseAlias(address)
            aliasHeld = false
        }
        for extra in extraAliasesHeld { Self.releaseAlias(extra) }
        extraAliasesHeld = []
    }

    /// Stops only the daemon, keeping its directory (config, zone, keys) and address: for tests
    /// of what clients do when the server is down. ``stop()`` still cleans up afterwards.
    public func stopDaemon() {
        if let process, pid > 0 {
            if process.isRunning {
                // NSD forks: the started process is xfrd, its child the main process, whose children
                // serve. Shortly after `nsd-control reload` the main process can sit for about 10 s
                // with signals blocked (seen in tests, not from a shell), so NSD gets 3 s, then
                // SIGKILL for the whole tree, found from our own PID.
                let family = kind == .nsd ? Self.descendants(of: pid) : []
                for member in family { kill(member, SIGTERM) }
                kill(pid, SIGTERM)
                let deadline = Date().addingTimeInterval(kind == .nsd ? 3 : 10)
                while process.isRunning, Date() < deadline { usleep(20_000) }
                if process.isRunning || family.contains(where: Self.isAlive) {
                    for member in family + Self.descendants(of: pid) { kill(member, SIGKILL) }
                    kill(pid, SIGKILL)
                }
            }
            process.waitUntilExit()
            LabServerRegistry.shared.stopped(pid)
            self.process = nil
        }
    }

    /// Children, grandchildren… of `pid`.
    static func descendants(of pid: pid_t) -> [pid_t] {
        var out: [pid_t] = []
        var queue = [pid]
        while let next = queue.popLast() {
            let children = Self.children(of: next)
            out += children
            queue += children
        }
        return out
    }

    /// Whether `pid` exists and is not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// The PIDs whose parent is `pid` (from /proc).
    static func children(of pid: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let child = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After "pid (comm)": state, then ppid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == pid ? child : nil
        }
    }

    // MARK: Loopback aliases

    nonisolated(unsafe) static var aliasUsers: [String: (count: Int, added: Bool)] = [:]
    static let aliasLock = NSLock()

    /// Adds `address/32` to `lo` unless it is there; counts users so the last one removes it.
    static func holdAlias(_ address: String) throws {
        aliasLock.lock()
        defer { aliasLock.unlock() }
        if var entry = aliasUsers[address] {
            entry.count += 1
            aliasUsers[address] = entry
            return
        }
        let present = try Tool.run("/usr/sbin/ip", ["-4", "addr", "show", "dev", "lo"]).stdout.contains("inet \(address)/")
        if !present {
            let added = try Tool.run("/usr/sbin/ip", ["addr", "add", "\(address)/32", "dev", "lo"])
            guard added.status == 0 else { throw ToolError("ip addr add \(address)/32 dev lo: \(added.stderr)") }
        }
        aliasUsers[address] = (1, !present)
    }

    static func releaseAlias(_ address: String) {
        aliasLock.lock()
        defer { aliasLock.unlock() }
        guard var entry = aliasUsers[address] else { return }
        entry.count -= 1
        if entry.count > 0 {
            aliasUsers[address] = entry
            return
        }
        aliasUsers[address] = nil
        if entry.added { _ = try? Tool.run("/usr/sbin/ip", ["addr", "del", "\(address)/32", "dev", "lo"]) }
    }
}

/// The PIDs of lab daemons still running; killed at process exit if a test forgot them.
public final class LabServerRegistry: @unchecked Sendable {
    static let shared = LabServerRegistry()
    private let lock = NSLock()
    private var pids: Set<pid_t> = []

    private init() {
        atexit {
            for pid in LabServerRegistry.shared.snapshot() { kill(pid, SIGKILL) }
        }
    }

    func started(_ pid: pid_t) { lock.lock(); pids.insert(pid); lock.unlock() }
    func stopped(_ pid: pid_t) { lock.lock(); pids.remove(pid); lock.unlock() }
    func snapshot() -> Set<pid_t> { lock.lock(); defer { lock.unlock() }; return pids }

    /// PIDs started and not yet stopped (a test may assert this is empty).
    public static var running: Set<pid_t> { shared.snapshot() }
}
