import Foundation
import Store

/// Audit entries as the CLI prints them (`delegsync audit`, `delegsync child status`): one line
/// per entry, then the request's records indented, one per line, then the backend's result.
/// Stored text is printed as stored except for control characters, so that a backend's
/// multi-line error or a stray escape sequence never breaks the layout or reaches the terminal.
enum AuditText {
    /// `text` on one line: line breaks and other control characters written as `\n`, `\r` or
    /// `\u{XX}` (tabs stay: they align records and break nothing).
    static func oneLine(_ text: some StringProtocol) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\t"
            default:
                switch scalar.properties.generalCategory {
                case .control, .lineSeparator, .paragraphSeparator:
                    out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                default:
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// The lines `delegsync audit` prints for `entry`.
    static func lines(_ entry: AuditEntry) -> [String] {
        let time = Date(timeIntervalSince1970: TimeInterval(entry.time))
        let fields = [
            "\(time)", entry.source, entry.transport, "signer=\(entry.signer ?? "-")", "key=\(entry.keyTag.map(String.init) ?? "-")",
            entry.decision + (entry.count > 1 ? " ×\(entry.count)" : "") + ":", entry.reason,
        ]
        var lines = [fields.map(oneLine).joined(separator: " ")]
        lines += entry.request.split(separator: "\n").map { "    " + oneLine($0) }
        if let result = entry.backendResult { lines.append("    backend: " + oneLine(result)) }
        return lines
    }
}
