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

        func open() throws -> (AgentConfiguration, any DelegationStore) {
            let configuration = try AgentConfiguration.load(path: config)
            return (configuration, try configuration.store.open())
        }

        /// The configuration and the store opened for reading only: nothing is created, and a
        /// store that does not exist yet is an error saying so.
        func openForReading() throws -> (AgentConfiguration, any DelegationStore) {
            let configuration = try AgentConfiguration.load(path: config)
            guard let store = try configuration.store.openExisting() else {
                throw UsageFailure("store " + Self.absent(configuration.storePath))
            }
            return (configuration, store)
        }

        static func absent(_ path: String) -> String {
            "\(path) does not exist: no agent has run with this configuration (store.path)"
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a child's KEY from a BIND .key file, or many keys with --from.",
            discussion: """
                --from FILE reads KEY records in presentation format, one per line (child.parent. 3600 IN KEY 512 3 15 BASE64),                 or a zone file of KEY records ($ORIGIN, $TTL, relative names, comments and parentheses); each key goes to the                 configured zone its owner is a child of. The keys are stored in transactions of --batch keys; a line that is                 not a usable KEY stops the import with its line number (the batches before it are stored).
                """)

        @OptionGroup var options: Options
        @Argument(help: "K<child>+<alg>+<tag>.key")
        var keyFile: String?
        @Option(help: "A file of KEY records (one per line, or a zone file) to import in bulk.")
        var from: String?
        @Option(help: "Keys per transaction with --from.")
        var batch = 1000
        @Flag(help: "Trust the key(s) at once (the operator vouches for them).")
        var trusted = false

        func validate() throws {
            guard (keyFile == nil) != (from == nil) else { throw ValidationError("give either a .key file or --from FILE") }
            guard batch >= 1 else { throw ValidationError("--batch \(batch): give 1 or more") }
        }

        func run() throws {
            try reporting {
                let (configuration, store) = try options.open()
                let state: KeyTrustState = trusted ? .trusted : .known
                let now = Int64(Date().timeIntervalSince1970)
                if let from {
                    let count = try KeyRecordFile.importKeys(from: from, zones: configuration.zones.map(\.name), state: state, now: now, batch: batch, into: store)
                    print("\(count) key(s) imported from \(from): \(state.rawValue)")
                    return
                }
                let key = try BINDKeyFile.load(path: keyFile ?? "")
                _ = try SIG0PublicKey(key.keyData)
                let zone = try KeyRecordFile.zone(of: key.owner, among: configuration.zones.map(\.name))
                try store.putKey(
                    StoredKey(
                        zone: zone, child: key.owner, keyTag: key.keyTag, algorithm: key.keyData.algorithm, rdata: key.keyData.rdata, state: state,
                        addedAt: now, origin: "import"))
                print("\(key.owner) key \(key.keyTag) (\(key.algorithm)) in \(zone): \(state.rawValue)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys in the trust store (streamed; filter with --child, --state, --since, --limit).")

        @OptionGroup var options: Options
        @Option(help: "Only this child.")
        var child: String?
        @OptionGroup var filter: ListingFilter

        func run() throws {
            try reporting {
                let (_, store) = try options.openForReading()
                var keys = KeyFilter(child: try child.map { try absoluteName($0) }, limit: filter.limit)
                keys.since = try filter.sinceTime(now: Int64(Date().timeIntervalSince1970))
                if let state = filter.state {
                    guard let value = KeyTrustState(rawValue: state) else {
                        throw UsageFailure("--state \(state): give one of \(KeyTrustState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    keys.state = value
                }
                var output = StandardOutput()
                try store.eachKey(keys) { key in
                    output.write(
                        "\(key.child)\tzone \(key.zone)\tkey \(key.keyTag)\t\(SIG0Algorithm(key.algorithm))\t\(key.state.rawValue)\t\(key.origin)\t\(key.identity.digestText)\n"
                    )
                }
                output.flush()
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop trusting a child's key; changes it signed that still wait in the outbox are cancelled.")

        @OptionGroup var options: Options
        @OptionGroup var key: KeySelection

        func run() throws {
            try reporting {
                let (configuration, store) = try options.open()
                let childName = try absoluteName(key.child)
                let keys = try configuration.zones.filter { childName.isSubdomain(of: $0.name) }.flatMap { try store.keys(zone: $0.name, child: childName) }
                let chosen = try key.choose(keys.filter { $0.state != .revoked }, identity: \.identity, what: "key of \(childName) that is not revoked")
                let change = try store.setKeyState(chosen.identity, state: .revoked)
                let now = Int64(Date().timeIntervalSince1970)
                try store.appendAudit(
                    AuditEntry(
                        time: now, source: "operator", transport: "cli", zone: chosen.zone.description, signer: chosen.child.description,
                        keyTag: chosen.keyTag, request: "", decision: "REVOKED",
                        reason: "key \(chosen.identity.keyText) revoked by the operator; \(change.cancelledChanges) queued change(s) it signed cancelled"))
                print("\(chosen.identity): revoked" + (change.cancelledChanges == 0 ? "" : "; \(change.cancelledChanges) queued change(s) it signed cancelled"))
            }
        }
    }

    /// Which key an operator means: the child and the key by tag, by digest (`sha256:` and 8 or
    /// more hex digits) or by the child's public key file. A tag that several keys share is
    /// refused with the candidates named (DESIGN.md: nothing looks a key up by tag alone).
    struct KeySelection: ParsableArguments {
        @Argument(help: "The child, e.g. child.parent.")
        var child: String
        @Option(help: "The key tag (refused when several keys share it; then give --digest).")
        var keytag: UInt16?
        @Option(help: "The key's digest as `keys list` and `keys pending` print it: sha256:HEX (8 or more hex digits).")
        var digest: String?
        @Option(name: .customLong("key"), help: "The child's public key file (K<child>+<alg>+<tag>.key).")
        var keyFile: String?

        func validate() throws {
            guard keytag != nil || digest != nil || keyFile != nil else {
                throw ValidationError("name the key: --digest sha256:HEX, --key FILE or --keytag N")
            }
            if let digest, KeyIdentity.digestPrefix(digest) == nil {
                throw ValidationError("--digest \(digest): give sha256: and 8 to 64 hex digits, as `delegsync keys list` prints it")
            }
        }

        /// The one candidate the selection names; refuses none or several, naming them.
        func choose<T>(_ candidates: [T], identity: (T) -> KeyIdentity, what: String) throws -> T {
            var rdata: [UInt8]? = nil
            if let keyFile {
                rdata = try BINDKeyFile.load(path: keyFile).keyData.rdata
            }
            let matching = candidates.filter { candidate in
                let id = identity(candidate)
                if let keytag, id.keyTag != keytag { return false }
                if let digest, !id.matches(digestPrefix: digest) { return false }
                if let rdata, id.digest != KEYData.digest(rdata: rdata) { return false }
                return true
            }
            let asked = [keytag.map { "tag \($0)" }, digest, keyFile].compactMap { $0 }.joined(separator: ", ")
            guard let first = matching.first else {
                throw UsageFailure(
                    "no \(what) matches \(asked)"
                        + (candidates.isEmpty ? "" : "; there are: " + candidates.map { identity($0).description }.joined(separator: "; ")))
            }
            guard matching.count == 1 else {
                throw UsageFailure(
                    "\(matching.count) keys match \(asked): " + matching.map { identity($0).description }.joined(separator: "; ")
                        + "; name one with --digest or --key")
            }
            return first
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
                let (_, store) = try options.openForReading()
                let now = Int64(Date().timeIntervalSince1970)
                let jobs = try store.bootstraps(child: nil, activeOnly: true)
                if jobs.isEmpty { print("no bootstrap jobs pending") }
                for job in jobs {
                    print(job.explanation(now: now))
                    if let zone = try? DomainName(job.zone), let child = try? DomainName(job.child) {
                        print("key: \(KeyIdentity(zone: zone, child: child, rdata: job.key))")
                    }
                    print("")
                }
            }
        }
    }

    /// Which job an operator decides on.
    struct JobSelection: ParsableArguments {
        @OptionGroup var options: Options
        @OptionGroup var key: KeySelection
    }

    /// The operator confirms (or refuses) an upload. For the `unsigned` method approval never
    /// skips the DNS rounds; a `manual` job is trusted by this approval alone.
    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a child's uploaded key (automatic jobs still have to pass their DNS rounds).")
        @OptionGroup var job: JobSelection

        func run() throws {
            try reporting { try decide(job, approve: true) }
        }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a child's uploaded key (that key only; a trusted key is never touched).")
        @OptionGroup var job: JobSelection

        func run() throws {
            try reporting { try decide(job, approve: false) }
        }
    }

    static func decide(_ selection: JobSelection, approve: Bool) throws {
        let (_, store) = try selection.options.open()
        let name = try absoluteName(selection.key.child)
        let now = Int64(Date().timeIntervalSince1970)
        let jobs = try store.bootstraps(child: name, activeOnly: true)
        func identity(_ job: KeyBootstrap) -> KeyIdentity {
            KeyIdentity(zone: (try? DomainName(job.zone)) ?? .root, child: name, rdata: job.key)
        }
        var job = try selection.key.choose(jobs, identity: identity, what: "pending bootstrap job of \(name) (see delegsync keys pending)")
        let zone = try DomainName(job.zone)
        let id = identity(job)
        if approve {
            if job.approve(now: now) == .promote {
                try BootstrapWorker.promote(job, zone: zone, child: name, store: store, now: now)
                print("\(id): approved and trusted")
            } else {
                print("\(id): approved; it becomes trusted when its DNS rounds have passed")
            }
        } else {
            job.reject(now: now)
            try BootstrapWorker.reject(job, zone: zone, child: name, store: store)
            print("\(id): rejected")
        }
        try store.putBootstrap(job, now: now)
        try store.appendAudit(
            AuditEntry(
                time: now, source: "operator", transport: "cli", zone: job.zone, signer: job.child, keyTag: job.keyTag, request: "",
                decision: approve ? "APPROVED" : "REJECTED", reason: "key \(id.keyText) by the operator"))
    }
}

/// `delegsync audit`: the decisions, newest first.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Show the audit trail, newest first (streamed; filter with --child, --state, --since, --limit).")

    @OptionGroup var options: KeysCommand.Options
    @Option(help: "Only requests signed for this child.")
    var child: String?
    @OptionGroup var filter: ListingFilter

    func run() throws {
        try reporting {
            let (_, store) = try options.openForReading()
            let entries = AuditFilter(
                child: try child.map { try absoluteName($0) }, decision: filter.state, since: try filter.sinceTime(now: Int64(Date().timeIntervalSince1970)),
                limit: filter.limit ?? 50)
            var output = StandardOutput()
            try store.eachAudit(entries) { entry in
                for line in AuditText.lines(entry) { output.write(line + "\n") }
            }
            output.flush()
        }
    }
}
