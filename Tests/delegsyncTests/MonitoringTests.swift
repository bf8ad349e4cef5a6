import Foundation
import TestSupport
import XCTest

/// The Grafana dashboard and the Prometheus alerting rules in contrib/ are what Grafana and
/// Prometheus load: the dashboard's structure, the rules' structure, `promtool check rules` and
/// the rules' promtool unit tests. That they name only exported metrics is
/// ``MonitoringIntegrationTests``, which scrapes a running agent.
final class MonitoringTests: XCTestCase {
    func testPromQLMetricNames() throws {
        let cases: [(String, Set<String>)] = [
            (#"sum by (rule, ede) (rate(delegsync_requests_total{instance=~"$instance", rule!=""}[$__rate_interval]))"#, ["delegsync_requests_total"]),
            ("histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m])))", ["a_bucket"]),
            ("sum without (result) (rate(a[5m])) > 5 * sum(rate(a[1d] offset 1h)) and on (instance) b > 1", ["a", "b"]),
            (#"a{reason!="cancelled", x=~"{[(\"}"} - min_over_time(c[1h:5m]) > bool 0.5e3"#, ["a", "c"]),
            ("absent(up)", ["up"]),
            ("x * on(instance) group_left(zone) y", ["x", "y"]),
            ("sum(rate(a[${__range}])) / ignoring(le) count (b)", ["a", "b"]),
        ]
        for (expression, names) in cases {
            XCTAssertEqual(try PromQL.metricNames(in: expression), names, expression)
        }
        for unsupported in [#"{__name__="a"}"#, "rate(a[5m]", #"a{x="}"#] {
            XCTAssertThrowsError(try PromQL.metricNames(in: unsupported), unsupported)
        }
        XCTAssertEqual(try PromQL.metricNames(inVariableQuery: "label_values(delegsync_outbox_depth{job=\"d\"}, instance)"), ["delegsync_outbox_depth"])
        XCTAssertEqual(try PromQL.metricNames(inVariableQuery: "label_values(instance)"), [])
        XCTAssertEqual(try PromQL.metricNames(inVariableQuery: "query_result(sum by (zone) (b))"), ["b"])
        XCTAssertThrowsError(try PromQL.metricNames(inVariableQuery: "metrics(delegsync_.*)"))
    }

    func testDashboardIsAGrafanaDashboard() throws {
        let dashboard = try MonitoringFiles.dashboard()
        XCTAssertEqual(dashboard["title"] as? String, "delegsync")
        XCTAssertNotNil(dashboard["uid"] as? String)
        XCTAssertGreaterThanOrEqual(dashboard["schemaVersion"] as? Int ?? 0, 36)
        let panels = MonitoringFiles.panels(of: dashboard)
        XCTAssertGreaterThan(panels.count, 5)
        let ids = panels.compactMap { $0["id"] as? Int }
        XCTAssertEqual(ids.count, panels.count, "every panel has an id")
        XCTAssertEqual(Set(ids).count, ids.count, "panel ids are unique")
        let variables = ((dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            let grid = panel["gridPos"] as? [String: Int] ?? [:]
            XCTAssertTrue(grid["w"].map { $0 > 0 && $0 + (grid["x"] ?? 99) <= 24 } ?? false, "\(title): gridPos \(grid)")
            guard panel["type"] as? String != "row" else { continue }
            XCTAssertEqual((panel["datasource"] as? [String: String])?["uid"], "${datasource}", title)
            let targets = panel["targets"] as? [[String: Any]] ?? []
            XCTAssertFalse(targets.isEmpty, "\(title) has no query")
            XCTAssertEqual(Set(targets.compactMap { $0["refId"] as? String }).count, targets.count, "\(title): refIds")
            for target in targets {
                let expression = target["expr"] as? String ?? ""
                XCTAssertFalse(expression.isEmpty, title)
                // Every $variable a query uses is defined (Grafana's own $__… excepted).
                for variable in expression.matches(of: /\$\{?([A-Za-z_][A-Za-z0-9_]*)/).map({ String($0.1) }) where !variable.hasPrefix("__") {
                    XCTAssertTrue(variables.contains(variable), "\(title): $\(variable) is not a dashboard variable")
                }
            }
        }
        XCTAssertTrue(variables.contains("datasource"))
    }

    func testRulesAreAlertingRules() throws {
        let groups = try MonitoringFiles.ruleGroups()
        XCTAssertFalse(groups.isEmpty)
        var alerts: [String] = []
        for group in groups {
            XCTAssertNotNil(group["name"] as? String)
            for rule in group["rules"] as? [[String: Any]] ?? [] {
                let name = try XCTUnwrap(rule["alert"] as? String, "\(rule)")
                alerts.append(name)
                XCTAssertFalse((rule["expr"] as? String ?? "").isEmpty, name)
                XCTAssertTrue(["critical", "warning", "info"].contains((rule["labels"] as? [String: Any])?["severity"] as? String ?? ""), name)
                let annotations = rule["annotations"] as? [String: Any] ?? [:]
                XCTAssertNotNil(annotations["summary"] as? String, name)
                XCTAssertNotNil(annotations["description"] as? String, name)
                if let duration = rule["for"] { XCTAssertNotNil((duration as? String)?.wholeMatch(of: /[0-9]+[smhd]/), "\(name): for: \(duration)") }
            }
        }
        XCTAssertEqual(Set(alerts).count, alerts.count, "alert names are unique")
        // What issue 12 asks the rules to watch.
        let expressions = try MonitoringFiles.ruleQueries().reduce(into: Set<String>()) { $0.formUnion($1.metricNames) }
        for metric in [
            "delegsync_outbox_depth", "delegsync_outbox_given_up_total", "delegsync_bootstrap_jobs", "delegsync_backend_failures_total",
            "delegsync_sig0_verifications_total",
        ] {
            XCTAssertTrue(expressions.contains(metric), "no rule watches \(metric)")
        }
    }

    /// promtool's own check, and the unit tests in delegsync-rules.test.yml (which alert fires
    /// on which series, and which does not).
    func testRulesPassPromtool() throws {
        guard let promtool = Tool.find("promtool") else {
            throw XCTSkip("promtool is not installed (Debian package prometheus; make deps installs it); the structure is checked above")
        }
        let checked = try Tool.run(promtool, ["check", "rules", MonitoringFiles.rulesPath])
        XCTAssertEqual(checked.status, 0, checked.stdout + checked.stderr)
        let tested = try Tool.run(
            promtool, ["test", "rules", (MonitoringFiles.rulesTestPath as NSString).lastPathComponent],
            directory: (MonitoringFiles.rulesTestPath as NSString).deletingLastPathComponent)
        XCTAssertEqual(tested.status, 0, tested.stdout + tested.stderr)
        XCTAssertTrue(tested.stdout.contains("SUCCESS"), tested.stdout)
    }
}
