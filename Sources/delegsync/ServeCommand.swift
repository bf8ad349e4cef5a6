import Agent
import DaemonSupport
import ChildAgent
import ArgumentParser
import Backends
import DNSWire
import Foundation
import Logging
import Store
import Transport

#if canImport(Glibc)
    import Glibc
#endif

/// `delegsync serve --config FILE`: the parental agent (DESIGN.md roles).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the parental agent: receive SIG(0)-signed delegation UPDATEs and commit them to the parent zone.",
        discussion:
            "SIGTERM and SIGINT finish in-flight work and exit; SIGHUP re-reads the configuration (listen, the zones' fronts, store.path, log-level, the server limits and metrics need a restart)."
    )

    @Option(help: "The YAML configuration file.")
    var config: String

    func run() async throws {
        let configuration: AgentConfiguration
        do {
            configuration = try AgentConfiguration.load(path: config)
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        let logger = makeLogger(configuration.logLevel)
        let store: any DelegationStore
        do {
            store = try configuration.store.open()
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        let agent: AgentRuntime
        do {
            // One persistent connection per primary, shared by the reads and the UPDATEs.
            let connections = DNSConnectionPool()
            agent = try AgentRuntime(
                configuration: configuration, store: store, logger: logger, connections: connections,
                makeBackend: { try BackendFactory.make($0, connections: connections) })
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        try await agent.run(configPath: config)
    }
}

func makeLogger(_ level: String) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = Logger.Level(rawValue: level) ?? .info
        return handler
    }
    var logger = Logger(label: "delegsync")
    logger.logLevel = Logger.Level(rawValue: level) ?? .info
    return logger
}
