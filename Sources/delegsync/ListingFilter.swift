import ArgumentParser
import Foundation

/// `--state`, `--since` and `--limit`, as `keys list`, `audit` and `status` take them. Each
/// listing is streamed from the store: a million rows cost the time to print them, never the
/// memory to hold them.
struct ListingFilter: ParsableArguments {
    @Option(help: "Only rows in this state (keys: known, trusted, revoked; audit: the decision, e.g. NOERROR, REFUSED; status: a job state, e.g. verifying).")
    var state: String?

    @Option(
        help: ArgumentHelp(
            "Only rows from this time on: Unix seconds, an ISO 8601 date or date-time (2026-01-31, 2026-01-31T12:00:00Z), or an age (90s, 30m, 24h, 7d).",
            valueName: "time"))
    var since: String?

    @Option(help: "At most this many rows.")
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit \(limit): give 0 or more") }
        if let since { _ = try Self.time(since, now: 0) }
    }

    /// `--since` as Unix seconds.
    func sinceTime(now: Int64) throws -> Int64? {
        try since.map { try Self.time($0, now: now) }
    }

    static func time(_ text: String, now: Int64) throws -> Int64 {
        if let seconds = Int64(text) { return seconds }
        if let unit = text.last, let amount = Int64(text.dropLast()), amount >= 0 {
            let scale: Int64? = ["s": 1, "m": 60, "h": 3600, "d": 86400][String(unit)]
            if let scale { return now - amount * scale }
        }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
        formatter.formatOptions = [.withFullDate]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
        throw ValidationError("--since \(text): give Unix seconds, a date (2026-01-31), a date-time (2026-01-31T12:00:00Z) or an age (24h, 7d)")
    }
}
