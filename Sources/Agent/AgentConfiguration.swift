import DNSWire
import DaemonSupport
import DelegationCore
import Foundation
import Store
import Transport
import Yams

/// The agent's configuration: one YAML file with a `version` key (contrib/delegsync.yaml documents
/// every key with its default). Keys are kebab-case, as in Knot's configuration.
public struct AgentConfiguration: Sendable, Equatable {
    public struct Listen: Sendable, Hashable {
        public var address: String
        public var port: Int
    }

    public struct Signature: Sendable, Equatable {
        /// Seconds of clock difference allowed on each side of a SIG(0) bracket. Default 300.
        public var allowedSkew: UInt32 = 300
        /// Longest SIG(0) bracket accepted. Default 3600.
        public var maximumValidity: UInt32 = 3600
    }

    public struct Limits: Sendable, Equatable {
        public var server = DNSServerLimits()
        /// Accepted delegation UPDATEs per child per hour (signed by its trusted keys; nobody
        /// else can spend it). Default 20.
        public var updatesPerChildPerHour = 20
        /// Self-signed key uploads per source address per hour. Default 10.
        public var uploadsPerSourcePerHour = 10
        /// Self-signed key uploads per source prefix (IPv4 /24, IPv6 /56) per hour. Default 30.
        public var uploadsPerPrefixPerHour = 30
        /// Self-signed key uploads from all sources together per hour. Default 300.
        public var uploadsPerHour = 300
        /// KeyState inquiries per source address per hour (the prefix gets three times as many).
        /// Default 720.
        public var inquiriesPerSourcePerHour = 720
        /// KeyState inquiries from all sources together per hour. Default 20000.
        public var inquiriesPerHour = 20000
        /// Unfinished bootstrap jobs one child may have side by side (one per key; at most two
        /// from one source prefix). Default 8.
        public var pendingJobsPerChild = 8
        /// Seconds a queued change is retried before it is given up and reported. Default 86400.
        public var changeDeadline: Int64 = 86400
        /// Days audit entries, finished bootstrap jobs and finished outbox entries are kept.
        /// Default 90.
        public var retentionDays = 90
        /// Signature verifications per source address per second (the prefix gets three times
        /// as many), counted before the crypto. Default 50.
        public var verificationsPerSourcePerSecond = 50
        /// Signature verifications running at once; beyond it a request gets SERVFAIL. Default 8.
        public var maxVerificationsInFlight = 8
        /// What a signed UPDATE or key upload over UDP gets: `truncate` (an empty reply with TC=1,
        /// so the sender retries over TCP; no signature is checked for a spoofable source) or
        /// `answer` (decided as over TCP). Default truncate.
        public var udpUpdates: UDPUpdates = .truncate
        /// NOTIFY(CDS/CSYNC) budgets (AgentConfiguration+Scanner.swift).
        public var notifies = NotifyLimits()

        public enum UDPUpdates: String, Sendable, Equatable {
            case truncate, answer
        }
    }

    public enum BackendKind: String, Sendable, Equatable, CaseIterable {
        case rfc2136, nsupdate, nsd, script
    }

    public struct Backend: Sendable, Equatable {
        public var kind: BackendKind
        /// rfc2136/nsupdate: where to send; default the primary.
        public var server: String?
        public var port: Int?
        /// rfc2136: BIND-format TSIG key file (`tsig-keygen` output).
        public var tsigKeyFile: String?
        /// nsupdate: the command (`[nsupdate, -k, FILE]` or `[knsupdate, -y, alg:name:secret]`);
        /// script: the operator's command, which reads nsupdate text on stdin.
        public var command: [String]?
        /// script: write the nsupdate text here instead ("-" = stdout).
        public var output: String?
        /// nsd: the zone file, the fragment it `$INCLUDE`s, and nsd.conf for nsd-control.
        public var zoneFile: String?
        public var fragmentFile: String?
        public var nsdControlConfig: String?
    }

    public struct Zone: Sendable, Equatable {
        public var name: DomainName
        /// The parent's primary, queried directly over TCP with RD=0 for current data.
        public var primaryAddress: String
        public var primaryPort: Int = 53
        /// TTL the parent gives delegation records. Default 3600.
        public var ttl: UInt32 = 3600
        public var backend: Backend
        public var limits = DelegationLimits()
        /// How a child's uploaded key becomes trusted.
        public var bootstrap = BootstrapPolicy()
        /// A recursive resolver for the addresses of child nameservers outside the child zone
        /// (those inside it have glue in the parent).
        public var resolver: Listen? = nil
        /// What is checked against the child's own servers before a change is committed
        /// (`content-checks`); every check is on by default.
        public var contentChecks = ContentChecks()
        /// Where the parent's secondaries find their primary (`front`): UPDATEs they forward
        /// are decided here, everything else goes on to ``primaryAddress`` byte for byte. nil =
        /// no front.
        public var front: Listen? = nil
        /// Addresses of the nameservers that forward children's UPDATEs to the agent
        /// (`forwarders`, RFC 2136 §6): a request from one of them is marked as forwarded.
        public var forwarders: [String] = []

        /// Whether `address` (as a request's source) is one of ``forwarders``.
        public func isForwarder(_ address: String) -> Bool {
            guard !forwarders.isEmpty, let address = IPAddressText.canonical(address) else { return false }
            return forwarders.contains(address)
        }
        /// The CDS/CSYNC scanner (AgentConfiguration+Scanner.swift); off by default.
        public var scanner = Scanner()
    }

    public var version: Int
    public var listen: [Listen]
    /// SQLite file of the embedded store (`store.path`).
    public var storePath: String
    public var logLevel: String
    public var signature: Signature
    public var limits: Limits
    public var keyStateOptionCode: UInt16
    /// The receiver's own SIG(0) key (`….private`; its `.key` next to it): every reply is signed
    /// with it so children can authenticate the parent (DDNS draft, mutual authentication).
    public var identityKeyFile: String? = nil
    /// The opt-in Prometheus endpoint (`GET /metrics`); nil = off.
    public var metrics: Listen? = nil
    /// Events for the operator (`events`); nil = none are sent.
    public var events: Events? = nil
    public var zones: [Zone]
    /// Which store, SQLite (`store.path`) or PostgreSQL (`store.type: postgresql`, `store.url`).
    public var store = StoreLocation()

    public func zone(named name: DomainName) -> Zone? { zones.first { $0.name == name } }
}

extension AgentConfiguration {
    /// Reads and checks a configuration file.
    public static func load(path: String) throws -> AgentConfiguration {
        try AgentConfiguration(reading: ConfigReader(path: path))
    }

    /// Parses YAML text; every unknown key, wrong type and missing required key is an error
    /// naming its path (e.g. `zones[0].backend.type`).
    public static func parse(_ text: String, file: String = "configuration") throws -> AgentConfiguration {
        try AgentConfiguration(reading: ConfigReader(file: file, text: text))
    }
}

extension ConfigReader {
    func configuration(_ root: Node.Mapping) throws -> AgentConfiguration {
        try keys(
            root,
            allowed: ["version", "listen", "store", "log-level", "signature", "limits", "keystate-option-code", "identity", "metrics", "events", "zones"],
            at: "")
        guard let version = try int(root, "version", at: "", range: 0...1000) else { throw fail("version", "missing (write version: 1)") }
        guard version == 1 else { throw fail("version", "version \(version) is not supported (this delegsync reads version 1)") }

        var listen: [AgentConfiguration.Listen] = []
        if let node = root["listen"] {
            guard let list = node.sequence else { throw fail("listen", "must be a list of {address, port}") }
            for (index, item) in list.enumerated() {
                let path = "listen[\(index)]"
                guard let entry = item.mapping else { throw fail(path, "must be a mapping with address and port") }
                try keys(entry, allowed: ["address", "port"], at: path)
                guard let address = try string(entry, "address", at: path) else { throw fail("\(path).address", "missing") }
                guard IPAddressText.isValid(address) else { throw fail("\(path).address", "\"\(address)\" is not an IPv4 or IPv6 address") }
                listen.append(.init(address: address, port: try int(entry, "port", at: path, range: 0...65535) ?? 5302))
            }
        } else {
            listen = [.init(address: "127.0.0.1", port: 5302)]
        }

        let store = try storeLocation(root)
        let logLevel = try string(root, "log-level", at: "") ?? "info"
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw fail("log-level", "\"\(logLevel)\" is not one of trace, debug, info, notice, warning, error, critical")
        }

        var signature = AgentConfiguration.Signature()
        if let node = try mapping(root, "signature", at: "") {
            try keys(node, allowed: ["allowed-skew", "maximum-validity"], at: "signature")
            signature.allowedSkew = UInt32(try int(node, "allowed-skew", at: "signature", range: 0...3600) ?? 300)
            signature.maximumValidity = UInt32(try int(node, "maximum-validity", at: "signature", range: 60...86400) ?? 3600)
        }

        var limits = AgentConfiguration.Limits()
        if let node = try mapping(root, "limits", at: "") {
            try keys(
                node,
                allowed: [
                    "max-message-size", "max-tcp-connections", "max-tcp-connections-per-source", "max-tcp-connections-per-prefix", "tcp-idle-timeout",
                    "tcp-message-timeout",
                    "max-bytes-per-connection", "udp-replies-per-source-per-second", "udp-updates", "max-in-flight", "updates-per-child-per-hour",
                    "uploads-per-source-per-hour", "uploads-per-prefix-per-hour", "uploads-per-hour", "inquiries-per-source-per-hour",
                    "inquiries-per-hour", "pending-jobs-per-child", "change-deadline", "retention-days",
                    "verifications-per-source-per-second", "max-verifications-in-flight",
                    "notifies-per-child-per-hour", "notifies-per-source-per-hour", "notifies-per-hour",
                ], at: "limits")
            limits.notifies = try notifyLimits(node)
            limits.server.maxMessageSize = try int(node, "max-message-size", at: "limits", range: 512...65535) ?? limits.server.maxMessageSize
            limits.server.maxTCPConnections = try int(node, "max-tcp-connections", at: "limits", range: 1...100_000) ?? limits.server.maxTCPConnections
            limits.server.tcpIdleTimeout = try int(node, "tcp-idle-timeout", at: "limits", range: 1...3600) ?? limits.server.tcpIdleTimeout
            limits.server.maxTCPConnectionsPerSource =
                try int(node, "max-tcp-connections-per-source", at: "limits", range: 1...100_000) ?? limits.server.maxTCPConnectionsPerSource
            limits.server.maxTCPConnectionsPerPrefix =
                try int(node, "max-tcp-connections-per-prefix", at: "limits", range: 1...100_000) ?? limits.server.maxTCPConnectionsPerPrefix
            limits.server.tcpMessageTimeout = try int(node, "tcp-message-timeout", at: "limits", range: 1...3600) ?? limits.server.tcpMessageTimeout
            limits.server.maxBytesPerConnection =
                try int(node, "max-bytes-per-connection", at: "limits", range: 512...1 << 30) ?? limits.server.maxBytesPerConnection
            limits.server.udpRepliesPerSourcePerSecond =
                try int(node, "udp-replies-per-source-per-second", at: "limits", range: 0...1_000_000) ?? limits.server.udpRepliesPerSourcePerSecond
            if let text = try string(node, "udp-updates", at: "limits") {
                guard let value = AgentConfiguration.Limits.UDPUpdates(rawValue: text) else {
                    throw fail("limits.udp-updates", "\"\(text)\" is not one of truncate, answer")
                }
                limits.udpUpdates = value
            }
            limits.server.maxInFlight = try int(node, "max-in-flight", at: "limits", range: 1...10_000) ?? limits.server.maxInFlight
            limits.updatesPerChildPerHour = try int(node, "updates-per-child-per-hour", at: "limits", range: 1...100_000) ?? limits.updatesPerChildPerHour
            limits.uploadsPerSourcePerHour = try int(node, "uploads-per-source-per-hour", at: "limits", range: 1...100_000) ?? limits.uploadsPerSourcePerHour
            limits.uploadsPerPrefixPerHour = try int(node, "uploads-per-prefix-per-hour", at: "limits", range: 1...100_000) ?? limits.uploadsPerPrefixPerHour
            limits.uploadsPerHour = try int(node, "uploads-per-hour", at: "limits", range: 1...1_000_000) ?? limits.uploadsPerHour
            limits.inquiriesPerSourcePerHour =
                try int(node, "inquiries-per-source-per-hour", at: "limits", range: 1...1_000_000) ?? limits.inquiriesPerSourcePerHour
            limits.inquiriesPerHour = try int(node, "inquiries-per-hour", at: "limits", range: 1...10_000_000) ?? limits.inquiriesPerHour
            limits.pendingJobsPerChild = try int(node, "pending-jobs-per-child", at: "limits", range: 1...100) ?? limits.pendingJobsPerChild
            limits.changeDeadline = Int64(try int(node, "change-deadline", at: "limits", range: 60...30 * 86400) ?? Int(limits.changeDeadline))
            limits.retentionDays = try int(node, "retention-days", at: "limits", range: 1...36500) ?? limits.retentionDays
            limits.verificationsPerSourcePerSecond =
                try int(node, "verifications-per-source-per-second", at: "limits", range: 1...1_000_000) ?? limits.verificationsPerSourcePerSecond
            limits.maxVerificationsInFlight = try int(node, "max-verifications-in-flight", at: "limits", range: 1...1024) ?? limits.maxVerificationsInFlight
        }
        let keyStateCode = UInt16(try int(root, "keystate-option-code", at: "", range: 1...65535) ?? Int(KeyStateOption.defaultCode))
        var identityKeyFile: String? = nil
        if let identity = try mapping(root, "identity", at: "") {
            try keys(identity, allowed: ["key-file"], at: "identity")
            identityKeyFile = try string(identity, "key-file", at: "identity")
            if let path = identityKeyFile { try readable(path, at: "identity.key-file") }
        }

        var metrics: AgentConfiguration.Listen? = nil
        if let node = try mapping(root, "metrics", at: "") {
            try keys(node, allowed: ["address", "port"], at: "metrics")
            let address = try string(node, "address", at: "metrics") ?? "127.0.0.1"
            guard IPAddressText.isValid(address) else { throw fail("metrics.address", "\"\(address)\" is not an IPv4 or IPv6 address") }
            metrics = .init(address: address, port: try int(node, "port", at: "metrics", range: 1...65535) ?? 9153)
        }

        let events = try mapping(root, "events", at: "").map { try self.events($0, limits: limits) }

        guard let zoneNodes = root["zones"]?.sequence, !zoneNodes.isEmpty else {
            throw fail("zones", "missing or empty: list at least one parent zone")
        }
        var zones: [AgentConfiguration.Zone] = []
        for (index, item) in zoneNodes.enumerated() {
            let path = "zones[\(index)]"
            guard let node = item.mapping else { throw fail(path, "must be a mapping") }
            let zone = try self.zone(node, at: path)
            guard !zones.contains(where: { $0.name == zone.name }) else { throw fail("\(path).name", "\(zone.name) is listed twice") }
            zones.append(zone)
        }
        try checkFronts(zones, listen: listen)
        return AgentConfiguration(
            version: version, listen: listen, storePath: store.path, logLevel: logLevel, signature: signature,
            limits: limits, keyStateOptionCode: keyStateCode, identityKeyFile: identityKeyFile, metrics: metrics, events: events, zones: zones,
            store: store)
    }

    func zone(_ node: Node.Mapping, at path: String) throws -> AgentConfiguration.Zone {
        try keys(node, allowed: ["name", "primary", "ttl", "backend", "policy", "bootstrap", "content-checks", "front", "forwarders", "scanner"], at: path)
        guard let nameText = try string(node, "name", at: path) else { throw fail("\(path).name", "missing") }
        let name: DomainName
        do {
            name = try DomainName(nameText.hasSuffix(".") ? nameText : nameText + ".")
        } catch {
            throw fail("\(path).name", "\"\(nameText)\" is not a domain name: \(error)")
        }
        guard let primary = try mapping(node, "primary", at: path) else { throw fail("\(path).primary", "missing: the parent's primary {address, port}") }
        try keys(primary, allowed: ["address", "port"], at: "\(path).primary")
        guard let address = try string(primary, "address", at: "\(path).primary") else { throw fail("\(path).primary.address", "missing") }
        guard IPAddressText.isValid(address) else { throw fail("\(path).primary.address", "\"\(address)\" is not an IPv4 or IPv6 address") }
        let port = try int(primary, "port", at: "\(path).primary", range: 1...65535) ?? 53
        let ttl = UInt32(try int(node, "ttl", at: path, range: 0...604_800) ?? 3600)

        guard let backendNode = try mapping(node, "backend", at: path) else { throw fail("\(path).backend", "missing") }
        let bpath = "\(path).backend"
        try keys(
            backendNode, allowed: ["type", "server", "port", "tsig-key-file", "command", "output", "zone-file", "fragment-file", "nsd-control-config"],
            at: bpath)
        guard let typeText = try string(backendNode, "type", at: bpath) else { throw fail("\(bpath).type", "missing (rfc2136, nsupdate, nsd or script)") }
        guard let kind = AgentConfiguration.BackendKind(rawValue: typeText) else {
            throw fail("\(bpath).type", "unknown backend \"\(typeText)\" (use rfc2136, nsupdate, nsd or script)")
        }
        var backend = AgentConfiguration.Backend(kind: kind)
        backend.server = try string(backendNode, "server", at: bpath)
        if let server = backend.server, !IPAddressText.isValid(server) { throw fail("\(bpath).server", "\"\(server)\" is not an IPv4 or IPv6 address") }
        backend.port = try int(backendNode, "port", at: bpath, range: 1...65535)
        backend.tsigKeyFile = try string(backendNode, "tsig-key-file", at: bpath)
        backend.command = try strings(backendNode, "command", at: bpath)
        backend.output = try string(backendNode, "output", at: bpath)
        backend.zoneFile = try string(backendNode, "zone-file", at: bpath)
        backend.fragmentFile = try string(backendNode, "fragment-file", at: bpath)
        backend.nsdControlConfig = try string(backendNode, "nsd-control-config", at: bpath)
        switch kind {
        case .rfc2136:
            break
        case .nsupdate:
            guard let command = backend.command, !command.isEmpty else {
                throw fail("\(bpath).command", "missing: e.g. [nsupdate, -k, /etc/delegsync/tsig.key]")
            }
        case .nsd:
            for (key, value) in [("zone-file", backend.zoneFile), ("fragment-file", backend.fragmentFile), ("nsd-control-config", backend.nsdControlConfig)]
            where value == nil {
                throw fail("\(bpath).\(key)", "missing: the nsd backend needs zone-file, fragment-file and nsd-control-config")
            }
        case .script:
            guard backend.command != nil || backend.output != nil else { throw fail(bpath, "the script backend needs command or output") }
            if backend.command?.isEmpty == true {
                throw fail("\(bpath).command", "empty: give the program and its arguments, e.g. [/usr/local/bin/apply-delegation]")
            }
        }
        if let keyFile = backend.tsigKeyFile { try readable(keyFile, at: "\(bpath).tsig-key-file") }

        var limits = DelegationLimits()
        if let policy = try mapping(node, "policy", at: path) {
            let ppath = "\(path).policy"
            try keys(policy, allowed: ["max-changes", "max-prerequisites", "max-nameservers", "max-ds"], at: ppath)
            limits.maxOperations = try int(policy, "max-changes", at: ppath, range: 1...1000) ?? limits.maxOperations
            limits.maxPrerequisites = try int(policy, "max-prerequisites", at: ppath, range: 0...100) ?? limits.maxPrerequisites
            limits.maxNameservers = try int(policy, "max-nameservers", at: ppath, range: 1...100) ?? limits.maxNameservers
            limits.maxDS = try int(policy, "max-ds", at: ppath, range: 1...100) ?? limits.maxDS
        }
        var bootstrap = BootstrapPolicy()
        var resolver: AgentConfiguration.Listen? = nil
        if let node = try mapping(node, "bootstrap", at: path) {
            let bpath = "\(path).bootstrap"
            try keys(
                node,
                allowed: [
                    "methods", "rounds", "minimum-interval", "maximum-interval", "deadline", "on-failure", "confirmation", "approval-command", "publish-key",
                    "resolver",
                ],
                at: bpath)
            if let names = try strings(node, "methods", at: bpath) {
                bootstrap.methods = try names.enumerated().map { index, name in
                    guard let method = BootstrapPolicy.Method(rawValue: name) else {
                        let known = BootstrapPolicy.Method.allCases.map(\.rawValue).joined(separator: ", ")
                        throw fail("\(bpath).methods[\(index)]", "\"\(name)\" is not a bootstrap method offered here (\(known))")
                    }
                    return method
                }
                guard Set(bootstrap.methods).count == bootstrap.methods.count else { throw fail("\(bpath).methods", "lists a method twice") }
            }
            bootstrap.rounds = try int(node, "rounds", at: bpath, range: 1...100) ?? bootstrap.rounds
            bootstrap.minimumInterval = Int64(try int(node, "minimum-interval", at: bpath, range: 0...604_800) ?? Int(bootstrap.minimumInterval))
            bootstrap.maximumInterval = Int64(try int(node, "maximum-interval", at: bpath, range: 1...2_592_000) ?? Int(bootstrap.maximumInterval))
            bootstrap.deadline = Int64(try int(node, "deadline", at: bpath, range: 60...31_536_000) ?? Int(bootstrap.deadline))
            guard bootstrap.minimumInterval <= bootstrap.maximumInterval else {
                throw fail("\(bpath).minimum-interval", "\(bootstrap.minimumInterval) is above maximum-interval \(bootstrap.maximumInterval)")
            }
            if let text = try string(node, "on-failure", at: bpath) {
                guard let value = BootstrapPolicy.FailureAction(rawValue: text) else { throw fail("\(bpath).on-failure", "\"\(text)\" is not fail or restart") }
                bootstrap.onFailure = value
            }
            if let text = try string(node, "confirmation", at: bpath) {
                guard let value = BootstrapPolicy.Confirmation(rawValue: text) else {
                    throw fail("\(bpath).confirmation", "\"\(text)\" is not never, always or command")
                }
                bootstrap.confirmation = value
            }
            bootstrap.approvalCommand = try strings(node, "approval-command", at: bpath)
            if let resolverNode = try mapping(node, "resolver", at: bpath) {
                try keys(resolverNode, allowed: ["address", "port"], at: "\(bpath).resolver")
                guard let address = try string(resolverNode, "address", at: "\(bpath).resolver") else { throw fail("\(bpath).resolver.address", "missing") }
                guard IPAddressText.isValid(address) else { throw fail("\(bpath).resolver.address", "\"\(address)\" is not an IPv4 or IPv6 address") }
                resolver = AgentConfiguration.Listen(address: address, port: try int(resolverNode, "port", at: "\(bpath).resolver", range: 1...65535) ?? 53)
            }
            bootstrap.publishKey = try bool(node, "publish-key", at: bpath) ?? bootstrap.publishKey
            if bootstrap.confirmation == .command, bootstrap.approvalCommand?.isEmpty ?? true {
                throw fail("\(bpath).approval-command", "missing: confirmation: command needs the command, e.g. [/usr/local/bin/approve-key]")
            }
        }
        var contentChecks = ContentChecks()
        if let checks = try mapping(node, "content-checks", at: path) {
            let cpath = "\(path).content-checks"
            try keys(checks, allowed: ["ns-authoritative", "ds-matches-dnskey", "ds-removal-needs-cds-delete"], at: cpath)
            contentChecks.nsAuthoritative = try bool(checks, "ns-authoritative", at: cpath) ?? true
            contentChecks.dsMatchesDNSKEY = try bool(checks, "ds-matches-dnskey", at: cpath) ?? true
            contentChecks.dsRemovalNeedsCDSDelete = try bool(checks, "ds-removal-needs-cds-delete", at: cpath) ?? true
        }
        var zone = AgentConfiguration.Zone(
            name: name, primaryAddress: address, primaryPort: port, ttl: ttl, backend: backend, limits: limits, bootstrap: bootstrap, resolver: resolver,
            contentChecks: contentChecks, scanner: try scanner(node, at: path))
        // at-ns reads signals through the resolver and validates them from the same anchor as
        // RFC 9615 signals.
        if bootstrap.methods.contains(.atNS) {
            guard zone.scanner.trustAnchor != nil else {
                throw fail(
                    "\(path).bootstrap.methods", "at-ns needs a trust anchor: set \(path).scanner.trust-anchor-file (the same anchor RFC 9615 signals use)")
            }
            guard resolver != nil else {
                throw fail("\(path).bootstrap.methods", "at-ns needs \(path).bootstrap.resolver to look up the signals under the nameservers")
            }
        }
        try forwarding(node, at: path, into: &zone)
        return zone
    }

    /// `front` and `forwarders` of one zone.
    func forwarding(_ node: Node.Mapping, at path: String, into zone: inout AgentConfiguration.Zone) throws {
        if let front = try mapping(node, "front", at: path) {
            let fpath = "\(path).front"
            try keys(front, allowed: ["address", "port"], at: fpath)
            guard let address = try string(front, "address", at: fpath) else {
                throw fail("\(fpath).address", "missing: the address the secondaries list as their primary")
            }
            guard IPAddressText.isValid(address) else { throw fail("\(fpath).address", "\"\(address)\" is not an IPv4 or IPv6 address") }
            let port = try int(front, "port", at: fpath, range: 1...65535) ?? 53
            guard address != zone.primaryAddress || port != zone.primaryPort else {
                throw fail(fpath, "is the primary itself (\(address) port \(port)): the front needs an address or port of its own")
            }
            zone.front = AgentConfiguration.Listen(address: address, port: port)
        }
        if let list = try strings(node, "forwarders", at: path) {
            zone.forwarders = try list.enumerated().map { index, text in
                guard let address = IPAddressText.canonical(text) else {
                    throw fail("\(path).forwarders[\(index)]", "\"\(text)\" is not an IPv4 or IPv6 address (list the addresses the nameservers forward from)")
                }
                return address
            }
        }
    }

    /// Zones may share a front only when they share the primary behind it (the relay passes
    /// messages on without reading which zone they are for); a front is not a listen address.
    func checkFronts(_ zones: [AgentConfiguration.Zone], listen: [AgentConfiguration.Listen]) throws {
        for (index, zone) in zones.enumerated() {
            guard let front = zone.front else { continue }
            if listen.contains(front) {
                throw fail(
                    "zones[\(index)].front", "\(front.address) port \(front.port) is also a listen address: give the front an address or port of its own")
            }
            if let other = zones[..<index].first(where: {
                $0.front == front && ($0.primaryAddress != zone.primaryAddress || $0.primaryPort != zone.primaryPort)
            }) {
                throw fail(
                    "zones[\(index)].front",
                    "\(other.name) has the same front with another primary: zones share a front only when they share the primary behind it")
            }
        }
    }
}
