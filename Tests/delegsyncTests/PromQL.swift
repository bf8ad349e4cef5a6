import Foundation

/// The metric names a PromQL expression selects, for checking that dashboards and alerting
/// rules name only metrics the agent exports. A small lexer, not a parser: it skips strings,
/// label matchers `{…}`, ranges `[…]`, numbers and durations, Grafana's `$variables`, the
/// label lists of `by`/`without`/`on`/`ignoring`/`group_left`/`group_right`, keywords, and
/// every name followed by `(` (functions and aggregations); every other name is a metric.
/// What it cannot follow (a `__name__` matcher, an unterminated string or bracket) is an error,
/// never a silent pass.
enum PromQL {
    static let keywords: Set<String> = [
        "and", "or", "unless", "bool", "offset", "inf", "nan",
        // Aggregation operators, which may be followed by `by (…)` before their parentheses.
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk",
        "limit_ratio",
    ]
    static let labelListKeywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right"]

    static func metricNames(in expression: String) throws -> Set<String> {
        let characters = Array(expression)
        var names = Set<String>()
        var index = 0

        /// The index after the bracket that closes the one at `start`, skipping strings.
        func closing(_ open: Character, _ close: Character, from start: Int) throws -> Int {
            var depth = 0
            var position = start
            while position < characters.count {
                let character = characters[position]
                if character == "\"" || character == "'" || character == "`" {
                    position = try endOfString(at: position)
                    continue
                }
                if character == open { depth += 1 }
                if character == close {
                    depth -= 1
                    if depth == 0 { return position + 1 }
                }
                position += 1
            }
            throw PromQLError("unterminated \(open) in \(expression)")
        }

        func endOfString(at start: Int) throws -> Int {
            let quote = characters[start]
            var position = start + 1
            while position < characters.count {
                if characters[position] == "\\" && quote != "`" {
                    position += 2
                    continue
                }
                if characters[position] == quote { return position + 1 }
                position += 1
            }
            throw PromQLError("unterminated string in \(expression)")
        }

        func nextNonSpace(from position: Int) -> Character? {
            var position = position
            while position < characters.count, characters[position].isWhitespace { position += 1 }
            return position < characters.count ? characters[position] : nil
        }

        func isNameStart(_ character: Character) -> Bool { character.isLetter || character == "_" || character == ":" }
        func isName(_ character: Character) -> Bool { isNameStart(character) || character.isNumber }

        var depth = 0
        while index < characters.count {
            let character = characters[index]
            if character == "\"" || character == "'" || character == "`" {
                index = try endOfString(at: index)
            } else if character == "(" || character == ")" {
                depth += character == "(" ? 1 : -1
                guard depth >= 0 else { throw PromQLError("unbalanced ) in \(expression)") }
                index += 1
            } else if character == "{" {
                let end = try closing("{", "}", from: index)
                if String(characters[index..<end]).contains("__name__") {
                    throw PromQLError("a __name__ matcher is not followed: name the metric in \(expression)")
                }
                index = end
            } else if character == "[" {
                index = try closing("[", "]", from: index)
            } else if character == "#" {
                while index < characters.count, characters[index] != "\n" { index += 1 }
            } else if character == "$" {
                // Grafana: $name, ${name}, ${name:format}.
                index += 1
                if index < characters.count, characters[index] == "{" {
                    index = try closing("{", "}", from: index)
                } else {
                    while index < characters.count, isName(characters[index]) { index += 1 }
                }
            } else if character.isNumber || (character == "." && index + 1 < characters.count && characters[index + 1].isNumber) {
                // Numbers (1e3, 0x1f, 0.5) and durations (5m, 1h30m).
                while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "." { index += 1 }
            } else if isNameStart(character) {
                let start = index
                while index < characters.count, isName(characters[index]) { index += 1 }
                let name = String(characters[start..<index])
                let next = nextNonSpace(from: index)
                if labelListKeywords.contains(name.lowercased()) {
                    if next == "(" {
                        let open = characters[index...].firstIndex(of: "(")!
                        index = try closing("(", ")", from: open)
                    }
                } else if !keywords.contains(name.lowercased()), next != "(" {
                    names.insert(name)
                }
            } else {
                index += 1
            }
        }
        guard depth == 0 else { throw PromQLError("unterminated ( in \(expression)") }
        return names
    }

    /// The metric names of a Grafana query variable's query (Prometheus data source):
    /// `label_values(EXPR, label)`, `label_values(label)` or `query_result(EXPR)`.
    static func metricNames(inVariableQuery query: String) throws -> Set<String> {
        let trimmed = query.trimmingCharacters(in: .whitespaces)
        if let match = trimmed.wholeMatch(of: /label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)/) {
            return try metricNames(in: String(match.1))
        }
        if trimmed.wholeMatch(of: /label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)/) != nil { return [] }
        if let match = trimmed.wholeMatch(of: /query_result\((.*)\)/) { return try metricNames(in: String(match.1)) }
        throw PromQLError("a variable query this check does not follow: \(query)")
    }
}

struct PromQLError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
