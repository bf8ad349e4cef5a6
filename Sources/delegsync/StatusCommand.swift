import Agent
import ArgumentParser
import DNSWire
import Foundation
import SIG0
import Store

/// `delegsync status CHILD`: one screen on what happened to a child's keys and what its
/// bootstrap job waits for.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Explain a child's keys and bootstrap jobs: rounds passed, what the job waits for, why it failed.")

    @OptionGroup var options: KeysCommand.Options
    @Argument(help: "The child, e.g. child.parent.")
    var child: String

    func run() throws {
        try reporting {
            let (_, store) = try options.open()
            let name = try absoluteName(child)
            let now = Int64(Date().timeIntervalSince1970)
            let keys = try store.keys(zone: nil, child: name)
            let jobs = try store.bootstraps(child: name, activeOnly: false)
            guard !keys.isEmpty || !jobs.isEmpty else { throw UsageFailure("nothing is known about \(name)") }
            for key in keys {
                print("key \(key.keyTag) (\(SIG0Algorithm(key.algorithm))): \(key.state.rawValue), from \(key.origin)")
            }
            for job in jobs.reversed() {
                print("")
                print(job.explanation(now: now))
            }
        }
    }
}
