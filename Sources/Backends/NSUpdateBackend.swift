import DNSWire

/// Pipes the change, rendered as an `nsupdate` script (``NSUpdateScript``, with a `server` line),
/// into BIND's `nsupdate` or Knot's `knsupdate` and succeeds when the tool exits 0 and reports
/// no error.
///
/// Typical commands: `["nsupdate", "-k", "/etc/bind/tsig.key"]`,
/// `["knsupdate", "-y", "hmac-sha256:name:secret"]`. Both tools print failures such as
/// `update failed: REFUSED` or `;; ERROR: …`; the error text carries the tool's output.
///
/// Changes applied while the tool runs wait for it and then go to the next run together, as one
/// UPDATE (``UpdateQueue``); if that run fails, each change gets a run of its own.
///
/// Limitations: the secret in a `-y` argument is visible in the process list; prefer key files
/// (`nsupdate -k`, `knsupdate -k`) where the tool supports them.
public struct NSUpdateBackend: DelegationBackend {
    public let command: [String]
    public let server: String
    public let port: Int
    /// Seconds the tool may run. Default 30.
    public let timeLimit: Double
    /// Merges concurrent changes into one run; `nil`: one run per change.
    public let queue: UpdateQueue?

    public init(command: [String], server: String, port: Int = 53, timeLimit: Double = 30, queue: UpdateQueue? = UpdateQueue()) {
        self.queue = queue
        self.command = command
        self.server = server
        self.port = port
        self.timeLimit = timeLimit
    }

    public var description: String {
        "\(command.first ?? "nsupdate") to \(server):\(port)"
    }

    /// Words in the tools' output that mean the update did not go through.
    static let failureMarkers = ["failed", "error", "refused", "notauth", "notzone", "servfail", "timed out", "could not", "couldn't"]

    public func apply(_ update: Update) async throws {
        guard !update.operations.isEmpty else { return }
        guard let queue else { return try await run(update) }
        try await queue.submit(update) { try await self.run($0) }
    }

    /// One run of the tool for `update`.
    func run(_ update: Update) async throws {
        let script = NSUpdateScript(update: update, server: (server, UInt16(port))).text
        guard !script.isEmpty else { return }
        let result = try await ExternalCommand(command, timeLimit: timeLimit).run(input: script)
        let output = result.output
        if result.timedOut {
            throw BackendError("\(description): no result within \(Int(timeLimit)) s; output: \(output)")
        }
        let lower = output.lowercased()
        if result.status != 0 || Self.failureMarkers.contains(where: lower.contains) {
            throw BackendError("\(description): exit status \(result.status): \(output.isEmpty ? "(no output)" : output)")
        }
    }
}
