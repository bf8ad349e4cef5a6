import Agent
import ArgumentParser
import Backends
import ChildAgent
import DNSWire
import Foundation
import SIG0
import Store

/// `delegsync child …`: the child side. It keeps the parent's delegation for a child zone in
/// step with the child's apex, over SIG(0)-signed UPDATEs (the DDNS draft).
///
/// Exit status: 0 done (key trusted, parent in step or change applied), 1 the parent could not
/// be reached (retries exhausted) or a zone could not be read, 2 something to fix here
/// (configuration, missing key, unpublished KEY), 3 still pending (bootstrap under way),
/// 4 refused by the parent (its reason is printed).
struct ChildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "child",
        abstract: "The child side: keys, bootstrap at the parent, and keeping the delegation in step.",
        subcommands: [
            ChildKeygenCommand.self, ChildPublishKeyCommand.self, ChildBootstrapCommand.self, ChildSyncCommand.self, ChildRollCommand.self,
            ChildStatusCommand.self, ChildWatchCommand.self, ChildNotifyCommand.self,
        ])

    struct Options: ParsableArguments {
        @Option(help: "The child agent's configuration file.")
        var config: String = "/etc/delegsync/child.yaml"

        @Argument(help: "The child zone, e.g. child.parent.")
        var child: String

        /// The configuration, the child's entry in it, and the store.
        func open() throws -> (ChildConfiguration, ChildConfiguration.Child, SQLiteStore) {
            let configuration = try ChildConfiguration.load(path: config)
            let name = try absoluteName(child)
            guard let entry = configuration.child(named: name) else { throw UsageFailure("\(name) is not a child in \(config)") }
            return (configuration, entry, try SQLiteStore(path: configuration.storePath))
        }

        func synchronizer() throws -> ChildSynchronizer {
            let (configuration, entry, store) = try open()
            return ChildSynchronizer(configuration: configuration, child: entry, store: store, progress: Terminal.line, ticker: Terminal.ticker)
        }
    }

    static let pending: Int32 = 3
    static let refused: Int32 = 4

    /// Runs `body`; maps failures to one `error:` line and the exit status above.
    static func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("error: \(error)")
            throw ExitCode(exitStatus(for: error))
        }
    }

    /// The exit status for a failure (see the type's documentation).
    static func exitStatus(for error: any Error) -> Int32 {
        switch error {
        case let error as ChildAgentError:
            switch error.code {
            case .configuration: UsageFailure.exitStatus
            case .pending: pending
            case .refused, .notTrusted, .notYetTrusted: refused
            case .unreachable, .malformed, .unauthenticated: 1
            }
        case is ZoneReadError, is DSYNCDiscoveryError: 1
        default: UsageFailure.exitStatus
        }
    }
}

struct ChildKeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Make a new SIG(0) key pair for the child in the key directory (BIND's file format).")
    @OptionGroup var options: ChildCommand.Options
    @Option(help: "ED25519 (default from the configuration), ECDSAP256SHA256, … ")
    var algorithm: String?

    func run() async throws {
        try await ChildCommand.run {
            let (configuration, entry, _) = try options.open()
            var chosen = entry.algorithm
            if let algorithm {
                guard let parsed = SIG0Algorithm(mnemonic: algorithm), parsed.isSupported else {
                    throw UsageFailure("unknown algorithm \"\(algorithm)\" (use ED25519, ECDSAP256SHA256, ECDSAP384SHA384 or RSASHA256)")
                }
                chosen = parsed
            }
            let key = try ChildKeyRing(directory: configuration.keyDirectory).generate(child: entry.name, algorithm: chosen)
            print("\(configuration.keyDirectory)/\(key.baseName)")
            print(key.keyFileText, terminator: "")
        }
    }
}

struct ChildPublishKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish-key",
        abstract: "Add the child's newest KEY at its apex: RFC 2136 (TSIG) to the child's primary, or --print for the operator.")
    @OptionGroup var options: ChildCommand.Options
    @Flag(help: "Only print the record and the nsupdate text.")
    var print = false

    func run() async throws {
        try await ChildCommand.run {
            let (configuration, entry, store) = try options.open()
            guard let key = try ChildKeyRing(directory: configuration.keyDirectory).keys(of: entry.name).last else {
                throw ChildAgentError(
                    .configuration, "no key pair for \(entry.name) in \(configuration.keyDirectory): run delegsync child keygen \(entry.name)")
            }
            let synchronizer = ChildSynchronizer(configuration: configuration, child: entry, store: store, progress: { Swift.print($0) })
            if self.print {
                var update = Update(zone: entry.name)
                update.add(Record(name: entry.name, type: .key, ttl: entry.ttl, rdata: key.keyData.rdata))
                Swift.print(NSUpdateScript(update: update, server: (entry.primary.host, UInt16(entry.primary.port))).text, terminator: "")
            } else if let text = try await synchronizer.publish(key) {
                Swift.print(text, terminator: "")
            }
        }
    }
}

struct ChildRollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roll",
        abstract: "Roll the child's key: new key, published; added at the parent with the old key's signature; the old key deleted with the new one's.",
        discussion: "Safe to run again after an interruption. Exit 0 done, 4 refused by the parent, 1 unreachable, 2 something to fix here.")
    @OptionGroup var options: ChildCommand.Options

    func run() async throws {
        try await ChildCommand.run {
            let (old, new) = try await options.synchronizer().roll()
            print("rolled: key \(new) is trusted at the parent, key \(old) is retired")
        }
    }
}

struct ChildBootstrapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap",
        abstract: "Check the KEY is published everywhere, upload it self-signed over TCP, and follow the parent's verdict.",
        discussion: "Exit 0 trusted, 3 still pending when --wait ends, 4 refused or validation failed, 1 parent unreachable, 2 something to fix here.")
    @OptionGroup var options: ChildCommand.Options
    @Option(help: "Seconds to follow the parent's verdict (KeyState inquiries) before exiting with 3.")
    var wait: Int = 60
    @Option(help: "Seconds between KeyState inquiries.")
    var poll: Int = 5

    func run() async throws {
        try await ChildCommand.run {
            switch try await options.synchronizer().bootstrap(timeout: .seconds(wait), poll: .seconds(max(1, poll))) {
            case .trusted(let keyTag):
                print("trusted: the parent trusts key \(keyTag)")
            case .pending(let keyTag, let text):
                print("pending: key \(keyTag) is not trusted yet\(text.isEmpty ? "" : " (\(text))")")
                throw ExitCode(ChildCommand.pending)
            }
        }
    }
}

struct ChildSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Bring the parent's delegation (NS, glue, DS) in step with the child's apex with one signed UPDATE.",
        discussion: "Exit 0 in step or applied, 4 refused, 3 key not trusted (bootstrap restarted), 1 unreachable, 2 something to fix here.")
    @OptionGroup var options: ChildCommand.Options
    @Flag(help: "Print the UPDATE as nsupdate text instead of sending it.")
    var dryRun = false
    @Option(help: "Attempts when the parent does not answer or answers SERVFAIL.")
    var attempts: Int = 4
    @Option(help: "Seconds to wait, showing the parent's progress, when the key's bootstrap is still under way; then send again.")
    var wait: Int = 0

    func run() async throws {
        try await ChildCommand.run {
            switch try await options.synchronizer().sync(dryRun: dryRun, attempts: max(1, attempts), wait: wait > 0 ? .seconds(wait) : nil) {
            case .inStep:
                print("in step: the parent's delegation matches the child")
            case .dryRun(let text):
                print(text, terminator: "")
            case .applied(let reply):
                print("applied: the parent committed the change (\(reply))")
            }
        }
    }
}

struct ChildStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "The child's keys and their state at the parent, the last exchanges, the scheme `watch` used last and the parent's answer, and whether parent and child differ now.",
        discussion: """
            Exit 0 when parent and child could be compared (whether they agree or differ: the output says which). When they \
            cannot be compared the last line says why and the status is that of sync: 1 the parent, its DSYNC record or a \
            zone could not be reached or read, 4 the parent does not delegate the child, 2 something to fix here.
            """)
    @OptionGroup var options: ChildCommand.Options

    func run() async throws {
        try await ChildCommand.run {
            let (configuration, entry, store) = try options.open()
            let stored = try store.keys(zone: nil, child: entry.name)
            for key in try ChildKeyRing(directory: configuration.keyDirectory).keys(of: entry.name) {
                let state = stored.first { $0.rdata == key.keyData.rdata }?.state.rawValue ?? "not uploaded"
                print("key \(key.keyTag) (\(key.algorithm)): \(state) at the parent")
            }
            for entry in try store.audit(child: entry.name, limit: 5).reversed() {
                let when = Date(timeIntervalSince1970: TimeInterval(entry.time)).formatted(.iso8601)
                print(AuditText.oneLine("\(when) sent to \(entry.source), key \(entry.keyTag.map(String.init) ?? "-"): \(entry.decision) \(entry.reason)"))
            }
            if let state = try store.childSchemeState(child: entry.name) {
                print(ChildSchemeStateText.lines(state).joined(separator: "\n"))
            } else {
                print("scheme \(entry.scheme.rawValue): no change sent by delegsync child watch yet")
            }
            do {
                let synchronizer = ChildSynchronizer(configuration: configuration, child: entry, store: store)
                let plan = try await synchronizer.plan(target: try await synchronizer.target(for: entry.scheme))
                print(plan.diff.isEmpty ? "now: parent and child agree" : "now: the parent differs; delegsync child sync would send:\n" + plan.nsupdateText)
            } catch {
                print("now: cannot compare parent and child: \(AuditText.oneLine("\(error)"))")
                throw ExitCode(ChildCommand.exitStatus(for: error))
            }
        }
    }
}

/// Progress output: on a terminal a countdown rewrites its line; elsewhere (logs, pipes) only
/// whole lines appear.
enum Terminal {
    static let isInteractive = isatty(STDOUT_FILENO) == 1

    /// A whole line (clearing one left by the ticker first).
    @Sendable static func line(_ text: String) {
        print((isInteractive ? "\r\u{1B}[K" : "") + text)
        fflush(nil)
    }

    /// A passing update, shown in place on a terminal only.
    @Sendable static func ticker(_ text: String) {
        guard isInteractive else { return }
        print("\r\u{1B}[K" + text, terminator: "")
        fflush(nil)
    }
}
