import Foundation
import Store

/// `delegsync child status`'s lines about the last change `child watch` sent (``ChildSchemeState``).
enum ChildSchemeStateText {
    static func lines(_ state: ChildSchemeState) -> [String] {
        func when(_ time: Int64) -> String { Date(timeIntervalSince1970: TimeInterval(time)).formatted(.iso8601) }
        var lines = ["scheme \(state.scheme): last change sent \(when(state.sentAt))"]
        if let update = state.update { lines.append(AuditText.oneLine("  UPDATE: \(update)")) }
        for line in state.notify?.split(separator: "\n") ?? [] { lines.append(AuditText.oneLine("  NOTIFY \(line)")) }
        if state.update == nil && state.notify == nil { lines.append("  nothing sent: the zone publishes nothing the parent's scan would act on") }
        for warning in state.warnings.split(separator: "\n") { lines.append(AuditText.oneLine("  warning: \(warning)")) }
        lines.append(
            state.inStepAt.map { "  the parent's delegation matched the child at \(when($0))" }
                ?? "  the parent's delegation has not been seen to match the child since")
        return lines
    }
}
