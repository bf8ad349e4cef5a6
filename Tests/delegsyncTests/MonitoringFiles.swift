import Foundation
import Yams

/// contrib/grafana/delegsync.json and contrib/prometheus/delegsync-rules.yml, read the way
/// Grafana and Prometheus read them, with the metric names each query selects.
enum MonitoringFiles {
    static let dashboardPath = CommandLineTestCase.repository.appendingPathComponent("contrib/grafana/delegsync.json").path
    static let rulesPath = CommandLineTestCase.repository.appendingPathComponent("contrib/prometheus/delegsync-rules.yml").path
    static let rulesTestPath = CommandLineTestCase.repository.appendingPathComponent("contrib/prometheus/delegsync-rules.test.yml").path

    /// A PromQL query, where it is, and the metric names it selects.
    struct Query {
        let location: String
        let expression: String
        let metricNames: Set<String>
    }

    static func dashboard() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dashboardPath))) as? [String: Any] else {
            throw PromQLError("\(dashboardPath) is not a JSON object")
        }
        return object
    }

    /// The panels, those inside rows included.
    static func panels(of dashboard: [String: Any]) -> [[String: Any]] {
        let top = dashboard["panels"] as? [[String: Any]] ?? []
        return top + top.flatMap { $0["panels"] as? [[String: Any]] ?? [] }
    }

    /// Every panel target's `expr` and every query variable's query.
    static func dashboardQueries() throws -> [Query] {
        let dashboard = try dashboard()
        var queries: [Query] = []
        for panel in panels(of: dashboard) {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                let expression = target["expr"] as? String ?? ""
                let location = "panel \(panel["title"] ?? "?") target \(target["refId"] ?? "?")"
                queries.append(Query(location: location, expression: expression, metricNames: try PromQL.metricNames(in: expression)))
            }
        }
        let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        for variable in variables where variable["type"] as? String == "query" {
            let query = (variable["query"] as? [String: Any])?["query"] as? String ?? variable["query"] as? String ?? ""
            queries.append(
                Query(location: "variable \(variable["name"] ?? "?")", expression: query, metricNames: try PromQL.metricNames(inVariableQuery: query)))
        }
        return queries
    }

    /// The rule groups: each a name and its rules.
    static func ruleGroups() throws -> [[String: Any]] {
        guard let document = try Yams.load(yaml: String(contentsOfFile: rulesPath, encoding: .utf8)) as? [String: Any],
            let groups = document["groups"] as? [[String: Any]]
        else { throw PromQLError("\(rulesPath) has no groups: list") }
        return groups
    }

    static func ruleQueries() throws -> [Query] {
        try ruleGroups().flatMap { group in
            try (group["rules"] as? [[String: Any]] ?? []).map { rule in
                let expression = rule["expr"] as? String ?? ""
                let name = rule["alert"] ?? rule["record"] ?? "?"
                return Query(location: "rule \(name)", expression: expression, metricNames: try PromQL.metricNames(in: expression))
            }
        }
    }
}
