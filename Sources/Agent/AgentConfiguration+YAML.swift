import DaemonSupport
import DelegationCore
import Yams

extension AgentConfiguration {
    /// The effective configuration as YAML, every default written out (`delegsync check-config
    /// --print`), in the order of contrib/delegsync.yaml. Keys that are unset and have no default
    /// (identity, metrics, a backend's server…) are left out. Parsing the text gives this
    /// configuration again.
    public func yaml(header: [String] = []) throws -> String {
        typealias W = ConfigWriter
        let limits = self.limits
        let server = limits.server
        let root = W.mapping([
            ("version", W.scalar(version)),
            ("listen", W.list(listen.map { W.endpoint($0.address, $0.port) })),
            (
                "store",
                W.mapping([
                    ("type", W.scalar(store.kind.rawValue)), ("path", store.kind == .sqlite ? W.string(store.path) : nil),
                    ("url", store.kind == .postgresql ? store.url.map(W.string) : nil), ("lease", W.scalar(store.lease)),
                    ("connections", W.scalar(store.connections)),
                ])
            ),
            ("log-level", W.scalar(logLevel)),
            (
                "signature",
                W.mapping([("allowed-skew", W.scalar(signature.allowedSkew)), ("maximum-validity", W.scalar(signature.maximumValidity))])
            ),
            (
                "limits",
                W.mapping([
                    ("max-message-size", W.scalar(server.maxMessageSize)),
                    ("max-tcp-connections", W.scalar(server.maxTCPConnections)),
                    ("tcp-idle-timeout", W.scalar(server.tcpIdleTimeout)),
                    ("max-in-flight", W.scalar(server.maxInFlight)),
                    ("max-tcp-connections-per-source", W.scalar(server.maxTCPConnectionsPerSource)),
                    ("max-tcp-connections-per-prefix", W.scalar(server.maxTCPConnectionsPerPrefix)),
                    ("tcp-message-timeout", W.scalar(server.tcpMessageTimeout)),
                    ("max-bytes-per-connection", W.scalar(server.maxBytesPerConnection)),
                    ("udp-replies-per-source-per-second", W.scalar(server.udpRepliesPerSourcePerSecond)),
                    ("udp-updates", W.scalar(limits.udpUpdates.rawValue)),
                    ("updates-per-child-per-hour", W.scalar(limits.updatesPerChildPerHour)),
                    ("uploads-per-source-per-hour", W.scalar(limits.uploadsPerSourcePerHour)),
                    ("uploads-per-prefix-per-hour", W.scalar(limits.uploadsPerPrefixPerHour)),
                    ("uploads-per-hour", W.scalar(limits.uploadsPerHour)),
                    ("inquiries-per-source-per-hour", W.scalar(limits.inquiriesPerSourcePerHour)),
                    ("inquiries-per-hour", W.scalar(limits.inquiriesPerHour)),
                    ("pending-jobs-per-child", W.scalar(limits.pendingJobsPerChild)),
                    ("change-deadline", W.scalar(limits.changeDeadline)),
                    ("retention-days", W.scalar(limits.retentionDays)),
                    ("verifications-per-source-per-second", W.scalar(limits.verificationsPerSourcePerSecond)),
                    ("max-verifications-in-flight", W.scalar(limits.maxVerificationsInFlight)),
                    ("notifies-per-child-per-hour", W.scalar(limits.notifies.perChildPerHour)),
                    ("notifies-per-source-per-hour", W.scalar(limits.notifies.perSourcePerHour)),
                    ("notifies-per-hour", W.scalar(limits.notifies.perHour)),
                ])
            ),
            ("keystate-option-code", W.scalar(keyStateOptionCode)),
            ("identity", identityKeyFile.map { W.mapping([("key-file", W.string($0))]) }),
            ("metrics", metrics.map { W.endpoint($0.address, $0.port) }),
            ("events", events.map(\.yamlNode)),
            ("zones", W.list(zones.map(\.yamlNode))),
        ])
        return try ConfigWriter.text(root, header: header)
    }
}

extension AgentConfiguration.Zone {
    var yamlNode: Node {
        typealias W = ConfigWriter
        return W.mapping([
            ("name", W.scalar(name)),
            ("primary", W.endpoint(primaryAddress, primaryPort)),
            ("ttl", W.scalar(ttl)),
            (
                "backend",
                W.mapping([
                    ("type", W.scalar(backend.kind.rawValue)),
                    ("server", backend.server.map { W.scalar($0) }),
                    ("port", backend.port.map { W.scalar($0) }),
                    ("tsig-key-file", backend.tsigKeyFile.map { W.string($0) }),
                    ("command", backend.command.map { W.strings($0) }),
                    ("output", backend.output.map { W.string($0) }),
                    ("zone-file", backend.zoneFile.map { W.string($0) }),
                    ("fragment-file", backend.fragmentFile.map { W.string($0) }),
                    ("nsd-control-config", backend.nsdControlConfig.map { W.string($0) }),
                ])
            ),
            (
                "policy",
                W.mapping([
                    ("max-changes", W.scalar(limits.maxOperations)),
                    ("max-prerequisites", W.scalar(limits.maxPrerequisites)),
                    ("max-nameservers", W.scalar(limits.maxNameservers)),
                    ("max-ds", W.scalar(limits.maxDS)),
                ])
            ),
            (
                "bootstrap",
                W.mapping([
                    ("methods", W.strings(bootstrap.methods.map(\.rawValue))),
                    ("rounds", W.scalar(bootstrap.rounds)),
                    ("minimum-interval", W.scalar(bootstrap.minimumInterval)),
                    ("maximum-interval", W.scalar(bootstrap.maximumInterval)),
                    ("deadline", W.scalar(bootstrap.deadline)),
                    ("on-failure", W.scalar(bootstrap.onFailure.rawValue)),
                    ("confirmation", W.scalar(bootstrap.confirmation.rawValue)),
                    ("approval-command", bootstrap.approvalCommand.map { W.strings($0) }),
                    ("resolver", resolver.map { W.endpoint($0.address, $0.port) }),
                    ("publish-key", W.scalar(bootstrap.publishKey)),
                ])
            ),
            (
                "content-checks",
                W.mapping([
                    ("ns-authoritative", W.scalar(contentChecks.nsAuthoritative)),
                    ("ds-matches-dnskey", W.scalar(contentChecks.dsMatchesDNSKEY)),
                    ("ds-removal-needs-cds-delete", W.scalar(contentChecks.dsRemovalNeedsCDSDelete)),
                ])
            ),
            (
                "scanner",
                W.mapping([
                    ("enabled", W.scalar(scanner.enabled)),
                    ("interval", W.scalar(scanner.interval)),
                    ("bootstrap-days", W.scalar(scanner.bootstrap.days)),
                    ("bootstrap-scans", W.scalar(scanner.bootstrap.scans)),
                    ("trust-anchor-file", scanner.trustAnchorFile.map { W.string($0) }),
                ])
            ),
            ("front", front.map { W.endpoint($0.address, $0.port) }),
            ("forwarders", W.strings(forwarders)),
        ])
    }
}

extension AgentConfiguration.Events {
    /// The thresholds in the units the file takes (minutes, hours).
    var yamlNode: Node {
        typealias W = ConfigWriter
        return W.mapping([
            ("command", command.map { W.strings($0) }),
            ("webhook", webhook.map { W.string($0.description) }),
            ("types", W.strings(types.sorted().map(\.rawValue))),
            ("backend-failing-after", W.scalar(backendFailingAfter / 60)),
            ("out-of-step-after", W.scalar(outOfStepAfter / 3600)),
            ("timeout", W.scalar(timeout)),
            ("queue-size", W.scalar(queueSize)),
        ])
    }
}
