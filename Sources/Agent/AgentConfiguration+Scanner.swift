import DNSWire
import DaemonSupport
import DelegationCore
import Foundation
import Yams

extension AgentConfiguration {
    /// The CDS/CDNSKEY/CSYNC scanner of one parent zone (`zones[].scanner`): the NOTIFY scheme of
    /// RFC 9859 beside the UPDATE scheme.
    public struct Scanner: Sendable, Equatable {
        /// Scan the zone's children and accept NOTIFY(CDS/CDNSKEY/CSYNC) for them. Default false.
        public var enabled = false
        /// Seconds between two scans of each child, the children spread over the interval; 0
        /// scans only on NOTIFY. Default 86400.
        public var interval: Int64 = 86400
        /// RFC 8078 §3.3 delay for an unsigned child's first DS without an RFC 9615 signal.
        /// Default 3 days, 3 scans (as SWITCH).
        public var bootstrap = BootstrapObservation.Rule()
        /// The file the RFC 9615 trust anchor was read from; nil: no RFC 9615 bootstrap.
        public var trustAnchorFile: String? = nil
        public var trustAnchor: TrustAnchor? = nil

        public init() {}

        /// What the core's judgement takes from the zone's configuration.
        func policy(zone: Zone) -> DelegationScan.Policy {
            DelegationScan.Policy(bootstrap: bootstrap, anchor: trustAnchor, ttl: zone.ttl, limits: zone.limits)
        }
    }

    /// NOTIFY(CDS/CSYNC) budgets (RFC 9859 §5: a receiver MUST rate-limit), in `limits`.
    public struct NotifyLimits: Sendable, Equatable {
        /// NOTIFYs that schedule a scan, per child per hour. Default 12.
        public var perChildPerHour = 12
        /// NOTIFYs per source address per hour (the source prefix gets three times as many).
        /// Default 60.
        public var perSourcePerHour = 60
        /// NOTIFYs from all sources together per hour. Default 3600.
        public var perHour = 3600

        public init() {}
    }
}

extension ConfigReader {
    static let scannerKeys: Set<String> = ["enabled", "interval", "bootstrap-days", "bootstrap-scans", "trust-anchor-file"]

    /// `zones[].scanner`; an unreadable or malformed trust anchor file is an error here, not at
    /// the first scan.
    func scanner(_ zone: Node.Mapping, at path: String) throws -> AgentConfiguration.Scanner {
        var scanner = AgentConfiguration.Scanner()
        guard let node = try mapping(zone, "scanner", at: path) else { return scanner }
        let spath = "\(path).scanner"
        try keys(node, allowed: Self.scannerKeys, at: spath)
        scanner.enabled = try bool(node, "enabled", at: spath) ?? scanner.enabled
        if let interval = try int(node, "interval", at: spath, range: 0...2_592_000) {
            guard interval == 0 || interval >= 300 else { throw fail("\(spath).interval", "\(interval) s is too short: 0 (NOTIFY only) or at least 300") }
            scanner.interval = Int64(interval)
        }
        scanner.bootstrap = BootstrapObservation.Rule(
            days: try int(node, "bootstrap-days", at: spath, range: 0...365) ?? scanner.bootstrap.days,
            scans: try int(node, "bootstrap-scans", at: spath, range: 1...100) ?? scanner.bootstrap.scans)
        if let file = try string(node, "trust-anchor-file", at: spath) {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw fail("\(spath).trust-anchor-file", "cannot read \(file)")
            }
            do {
                scanner.trustAnchor = try TrustAnchor(text: text)
            } catch {
                throw fail("\(spath).trust-anchor-file", "\(file) is not a trust anchor (DS or DNSKEY records of one zone): \(error)")
            }
            scanner.trustAnchorFile = file
        }
        return scanner
    }

    /// The NOTIFY budgets among `limits`.
    func notifyLimits(_ node: Node.Mapping) throws -> AgentConfiguration.NotifyLimits {
        var limits = AgentConfiguration.NotifyLimits()
        limits.perChildPerHour = try int(node, "notifies-per-child-per-hour", at: "limits", range: 1...100_000) ?? limits.perChildPerHour
        limits.perSourcePerHour = try int(node, "notifies-per-source-per-hour", at: "limits", range: 1...1_000_000) ?? limits.perSourcePerHour
        limits.perHour = try int(node, "notifies-per-hour", at: "limits", range: 1...10_000_000) ?? limits.perHour
        return limits
    }
}
