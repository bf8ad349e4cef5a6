import ArgumentParser
import ChildAgent
import Foundation
import Store

/// `delegsync child watch --config FILE`: the child agent as a daemon. It syncs every child at
/// start, after each NOTIFY (RFC 1996) from the child's primary once the zone has been quiet for
/// `watch.debounce` seconds, and every `watch.interval` seconds.
struct ChildWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Run the child agent as a daemon: sync each child after its primary's NOTIFY and on an interval.",
        discussion: """
            Listens on watch.listen (UDP and TCP) for NOTIFY(SOA) from each child's primary; logs each sync's result to stderr. \
            SIGTERM and SIGINT let running syncs finish and exit; SIGHUP re-reads the configuration (watch.listen and store.path need a restart). \
            Exit 0 after a signal, 1 when a listen address cannot be used, 2 something to fix in the configuration or store.
            """)

    @Option(help: "The child agent's configuration file.")
    var config: String = "/etc/delegsync/child.yaml"

    func run() async throws {
        let configuration: ChildConfiguration
        let store: SQLiteStore
        do {
            configuration = try ChildConfiguration.load(path: config)
            store = try SQLiteStore(path: configuration.storePath)
        } catch {
            printError("error: \(error)")
            throw ExitCode(UsageFailure.exitStatus)
        }
        let logger = makeLogger(configuration.logLevel)
        let watcher = ChildWatcher(configuration: configuration, configPath: config, store: store, logger: logger)
        do {
            try await watcher.run(events: ChildWatcher.signalEvents())
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
