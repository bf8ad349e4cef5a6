import Agent
import ArgumentParser
import DNSWire
import Foundation
import SIG0
import DelegationCore
import Store

/// `delegsync keys …`: the trust store, for the operator.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "List, import and revoke children's SIG(0) keys in the trust store.",
        subcommands: [Import.self, List.self, Revoke.self, Pending.self, Approve.self, Reject.self])

    struct Options: ParsableArguments {
        @Option(help: "The agent's YAML configuration (for the store path and zones).")
        var config: String

        func open() throws -> (AgentConfiguration, SQLiteStore) {
            let configuration = try AgentConfiguration.load(path: config)
            return (configuration, try SQLiteStore(path: configuration.storePath))
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import a child's KEY from a BIND .key file.")

        @OptionGroup var options: Options
        @Argument(help: "K<child>+<alg>+<tag>.key")
        var keyFile: String
        @Flag(help: "Trust the key at once (the operator vouches for it).")
        var trusted = false

        func run() throws {
            try reporting {
                let (configuration, store) = try options.open()
                let key = try BINDKeyFile.load(path: keyFile)
                _ = try SIG0PublicKey(key.keyData)
                guard let zone = configuration.zones.first(where: { key.owner.isSubdomain(of: $0.name) && key.owner != $0.name }) else {
                    throw UsageFailure(
                        "\(key.owner) is not a child of any configured zone (\(configuration.zones.map(\.name.description).joined(separator: ", ")))")
                }
                let state: KeyTrustState = trusted ? .trusted : .known
                try store.putKey(
                    StoredKey(
                        zone: zone.name, child: key.owner, keyTag: key.keyTag, algorithm: key.keyData.algorithm, rdata: key.keyData.rdata, state: state,
                        addedAt: Int64(Date().timeIntervalSince1970), origin: "import"))
                print("\(key.owner) key \(key.keyTag) (\(key.algorithm)) in \(zone.name): \(state.rawValue)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys in the trust store.")

        @OptionGroup var options: Options
        @Option(help: "Only this child.")
        var child: String?

        func run() throws {
            try reporting {
                let (_, store) = try options.open()
                let childName = try child.map { try absoluteName($0) }
                for key in try store.keys(zone: nil, child: childName) {
                    print("\(key.child)\tzone \(key.zone)\tkey \(key.keyTag)\t\(SIG0Algorithm(key.algorithm))\t\(key.state.rawValue)\t\(key.origin)")
                }
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop trusting a child's key.")

        @OptionGroup var options: Options
        @Argument(help: "The child, e.g. child.parent.")
        var child: String
        @Option(help: "The key tag.")
        var keytag: UInt16

        func run() throws {
            try reporting {
                let (configuration, store) = try options.open()
                let childName = try absoluteName(child)
                var changed = 0
                for zone in configuration.zones where childName.isSubdomain(of: zone.name) {
                    changed += try store.setKeyState(zone: zone.name, child: childName, keyTag: keytag, state: .revoked)
                }
                guard changed > 0 else { throw UsageFailure("no key \(keytag) for \(childName) in the trust store") }
                print("\(childName) key \(keytag): revoked")
            }
        }
    }
}

extension KeysCommand {
    /// Bootstrap jobs that are not finished: where the upload came from and the rounds so far.
    struct Pending: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List bootstrap jobs still running or waiting for confirmation.")

        @OptionGroup var options: Options

        func run() throws {
            try reporting {
                let (_, store) = try options.open()
                let now = Int64(Date().timeIntervalSince1970)
                let jobs = try store.bootstraps(child: nil, activeOnly: true)
                if jobs.isEmpty { print("no bootstrap jobs pending") }
                for job in jobs {
                    print(job.explanation(now: now))
                    print("")
                }
            }
        }
    }

    /// Which job an operator decides on.
    struct JobSelection: ParsableArguments {
        @OptionGroup var options: Options
        @Argument(help: "The child, e.g. child.parent.")
        var child: String
        @Option(help: "The uploaded key's tag.")
        var keytag: UInt16
    }

    /// The operator confirms (or refuses) an upload; approval never skips the DNS rounds.
    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a child's uploaded key (the DNS rounds still have to pass).")
        @OptionGroup var job: JobSelection

        func run() throws {
            try reporting { try decide(job, approve: true) }
        }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a child's uploaded key.")
        @OptionGroup var job: JobSelection

        func run() throws {
            try reporting { try decide(job, approve: false) }
        }
    }

    static func decide(_ selection: JobSelection, approve: Bool) throws {
        let (_, store) = try selection.options.open()
        let name = try absoluteName(selection.child)
        let keytag = selection.keytag
        let now = Int64(Date().timeIntervalSince1970)
        guard var job = try store.bootstraps(child: name, activeOnly: true).first(where: { $0.keyTag == keytag }) else {
            throw UsageFailure("no pending bootstrap job for \(name) key \(keytag) (see delegsync keys pending)")
        }
        let zone = try DomainName(job.zone)
        if approve {
            if job.approve(now: now) == .promote {
                try BootstrapWorker.promote(job, zone: zone, child: name, store: store, now: now)
                print("\(name) key \(keytag): approved and trusted")
            } else {
                print("\(name) key \(keytag): approved; it becomes trusted when its DNS rounds have passed")
            }
        } else {
            job.reject(now: now)
            try store.setKeyState(zone: zone, child: name, keyTag: keytag, state: .revoked)
            print("\(name) key \(keytag): rejected")
        }
        try store.putBootstrap(job, now: now)
        try store.appendAudit(
            AuditEntry(
                time: now, source: "operator", transport: "cli", zone: job.zone, signer: job.child, keyTag: keytag, request: "",
                decision: approve ? "APPROVED" : "REJECTED", reason: "by the operator"))
    }
}

/// `delegsync audit`: the decisions, newest first.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Show the audit trail, newest first.")

    @OptionGroup var options: KeysCommand.Options
    @Option(help: "Only requests signed for this child.")
    var child: String?
    @Option(help: "How many entries.")
    var limit = 50

    func run() throws {
        try reporting {
            let (_, store) = try options.open()
            let childName = try child.map { try absoluteName($0) }
            for entry in try store.audit(child: childName, limit: limit) {
                let time = Date(timeIntervalSince1970: TimeInterval(entry.time))
                print(
                    "\(time) \(entry.source) \(entry.transport) signer=\(entry.signer ?? "-") key=\(entry.keyTag.map(String.init) ?? "-") \(entry.decision): \(entry.reason)"
                )
                for line in entry.request.split(separator: "\n") { print("    \(line)") }
                if let result = entry.backendResult { print("    backend: \(result)") }
            }
        }
    }
}
