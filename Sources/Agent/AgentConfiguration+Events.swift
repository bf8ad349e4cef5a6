import DaemonSupport
import DelegationCore
import Yams

extension AgentConfiguration {
    /// The `events` section: what the agent tells the operator, and how (docs/parent.md,
    /// "Events"). Each event is one JSON object (``OperatorEvent``) handed to `command` on stdin
    /// and POSTed to `webhook`.
    public struct Events: Sendable, Equatable {
        /// Run once per event with the JSON on stdin; an argument vector, never a shell line.
        public var command: [String]?
        /// Receives the same JSON by HTTP POST; loopback only.
        public var webhook: WebhookURL?
        /// Seconds a zone's changes may fail to reach its primary before `backend-failing`.
        /// Default 900 (`backend-failing-after: 15`, in minutes).
        public var backendFailingAfter: Int64 = 900
        /// Seconds an accepted change may wait before `out-of-step`. Default 43200
        /// (`out-of-step-after: 12`, in hours).
        public var outOfStepAfter: Int64 = 43200
        /// The events sent; default all.
        public var types: Set<OperatorEvent.Kind> = Set(OperatorEvent.Kind.allCases)
        /// Seconds one delivery (the command's run, the POST) may take. Default 10.
        public var timeout: Int = 10
        /// Events waiting for delivery at most; beyond it the oldest is dropped. Default 256.
        public var queueSize: Int = 256

        public init() {}
    }
}

extension ConfigReader {
    /// The `events` section; `limits` is the parsed `limits` section (the change deadline bounds
    /// `out-of-step-after`).
    func events(_ node: Node.Mapping, limits: AgentConfiguration.Limits) throws -> AgentConfiguration.Events {
        let path = "events"
        try keys(node, allowed: ["command", "webhook", "types", "backend-failing-after", "out-of-step-after", "timeout", "queue-size"], at: path)
        var events = AgentConfiguration.Events()
        events.command = try strings(node, "command", at: path)
        if events.command?.isEmpty == true {
            throw fail("\(path).command", "empty: give the program and its arguments, e.g. [/usr/local/libexec/delegsync-event]")
        }
        if let text = try string(node, "webhook", at: path) {
            do {
                events.webhook = try WebhookURL(text)
            } catch {
                throw fail("\(path).webhook", "\(error)")
            }
        }
        guard events.command != nil || events.webhook != nil else {
            throw fail(path, "needs command or webhook (or both): where the events go")
        }
        if let names = try strings(node, "types", at: path) {
            guard !names.isEmpty else { throw fail("\(path).types", "empty: leave types out to send every event") }
            let kinds = try names.enumerated().map { index, name in
                guard let kind = OperatorEvent.Kind(rawValue: name) else {
                    let known = OperatorEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                    throw fail("\(path).types[\(index)]", "\"\(name)\" is not an event (known: \(known))")
                }
                return kind
            }
            guard Set(kinds).count == kinds.count else { throw fail("\(path).types", "lists an event twice") }
            events.types = Set(kinds)
        }
        events.backendFailingAfter = Int64(try int(node, "backend-failing-after", at: path, range: 0...10080) ?? 15) * 60
        let hours = try int(node, "out-of-step-after", at: path, range: 1...720) ?? 12
        events.outOfStepAfter = Int64(hours) * 3600
        if events.types.contains(.outOfStep), events.outOfStepAfter >= limits.changeDeadline {
            throw fail(
                "\(path).out-of-step-after",
                "\(hours) h is not shorter than limits.change-deadline (\(limits.changeDeadline) s): a change is given up before its child "
                    + "could be reported out of step; lower it, raise the deadline, or leave out-of-step out of types")
        }
        events.timeout = try int(node, "timeout", at: path, range: 1...600) ?? events.timeout
        events.queueSize = try int(node, "queue-size", at: path, range: 1...100_000) ?? events.queueSize
        return events
    }
}
