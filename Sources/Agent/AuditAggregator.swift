import DNSWire
import NIOConcurrencyHelpers
import Store

/// Refusals of requests nobody authenticated, counted per minute, source address, decision and
/// rule instead of one audit row per packet (RFC 10026: report without repeating the same
/// report endlessly). The first of a kind in a minute is written at once (so an operator sees
/// it); the ones after it only raise that row's count, written when the minute is over. A flood
/// of spoofed or unsigned packets thus costs at most ``maximumKeysPerMinute`` + 1 rows a
/// minute; authenticated requests keep one row each.
public final class AuditAggregator: Sendable {
    /// Distinct (source, decision, rule) tallies kept per minute; the rest share one row.
    static let maximumKeysPerMinute = 100

    /// One kind of refusal in one minute.
    struct Kind: Hashable, Sendable {
        let minute: Int64
        let source: String
        let transport: String
        let zone: String?
        let decision: String
        let rule: String
    }

    private struct Tally {
        var id: Int64?
        var count: Int
    }

    private struct State {
        var minute: Int64 = 0
        var tallies: [Kind: Tally] = [:]
        /// Counts of finished minutes still to be written.
        var finished: [(id: Int64, count: Int)] = []
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// What to do with a refusal: write `entry` now as the first of its kind (then tell
    /// ``recorded(_:id:)`` its row id), or nothing (it was counted).
    enum Disposition {
        case write(AuditEntry, Kind)
        case counted
    }

    func add(_ entry: AuditEntry, address: String, rule: String?, now: Int64) -> Disposition {
        state.withLockedValue { state in
            let minute = now / 60 * 60
            if minute != state.minute {
                Self.finish(&state)
                state.minute = minute
            }
            var kind = Kind(minute: minute, source: address, transport: entry.transport, zone: entry.zone, decision: entry.decision, rule: rule ?? "")
            var first = entry
            if state.tallies[kind] == nil, state.tallies.count >= Self.maximumKeysPerMinute {
                kind = Kind(minute: minute, source: "(other sources)", transport: "-", zone: nil, decision: "VARIOUS", rule: "")
                first = AuditEntry(
                    time: now, source: kind.source, transport: "-", zone: nil, signer: nil, keyTag: nil, request: "", decision: "VARIOUS",
                    reason: "refusals of unauthenticated requests beyond \(Self.maximumKeysPerMinute) kinds in this minute")
            }
            if state.tallies[kind] != nil {
                state.tallies[kind]!.count += 1
                return .counted
            }
            state.tallies[kind] = Tally(id: nil, count: 1)
            return .write(first, kind)
        }
    }

    /// The row written for the first refusal of `kind`.
    func recorded(_ kind: Kind, id: Int64) {
        state.withLockedValue { state in
            if state.tallies[kind] != nil { state.tallies[kind]!.id = id }
        }
    }

    /// Row counts to write: those of minutes before `now`'s (of every minute when `now` is nil).
    func drain(now: Int64?) -> [(id: Int64, count: Int)] {
        state.withLockedValue { state in
            if now.map({ $0 / 60 * 60 != state.minute }) ?? true { Self.finish(&state) }
            defer { state.finished = [] }
            return state.finished
        }
    }

    private static func finish(_ state: inout State) {
        for tally in state.tallies.values where tally.count > 1 {
            if let id = tally.id { state.finished.append((id, tally.count)) }
        }
        state.tallies = [:]
    }
}
