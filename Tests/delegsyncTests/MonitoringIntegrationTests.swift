import Agent
import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The dashboard and the alerting rules name only metrics the agent exports: the names come from
/// `AgentMetrics.families` (the one list in the code), and a real `delegsync serve`
/// (127.0.0.40, DNS on 15340, metrics on 15342) is scraped to check that list against what it
/// exports (a labelled family appears in the exposition only once it has a series).
final class MonitoringIntegrationTests: CommandLineTestCase {
    static let address = "127.0.0.40"
    static let dnsPort = 15340
    static let metricsPort = 15342

    /// Starts an agent with the metrics endpoint on, scrapes it once, and stops it.
    func scrape() async throws -> MetricsExposition {
        let binary = try XCTUnwrap(DelegsyncBinary.path, "no delegsync binary: swift build first")
        let config = "\(directory)/delegsync.yaml"
        try """
        version: 1
        listen: [{ address: \(Self.address), port: \(Self.dnsPort) }]
        store: { path: \(directory)/delegsync.sqlite }
        metrics: { address: \(Self.address), port: \(Self.metricsPort) }
        zones:
          - name: parent.
            primary: { address: 127.0.0.41, port: 15353 }
            backend: { type: rfc2136 }

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let log = "\(directory)/serve.log"
        try Data().write(to: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", config]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let url = URL(string: "http://\(Self.address):\(Self.metricsPort)/metrics")!
        for _ in 0..<100 {
            if let (data, response) = try? await URLSession.shared.data(from: url), (response as? HTTPURLResponse)?.statusCode == 200 {
                return MetricsExposition(String(decoding: data, as: UTF8.self))
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ToolError("no metrics at \(url): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    func testDashboardAndRulesNameOnlyExportedMetrics() async throws {
        let scraped = try await scrape()
        XCTAssertTrue(scraped.families.keys.contains("delegsync_outbox_depth"), "\(scraped.families)")
        let declared = Dictionary(uniqueKeysWithValues: AgentMetrics.families.map { ($0.name, $0.type) })
        for (family, type) in scraped.families where family.hasPrefix("delegsync_") {
            XCTAssertEqual(declared[family], type, "\(family) is exported as a \(type) but AgentMetrics.families says \(declared[family] ?? "nothing")")
        }
        let exposition = MetricsExposition(families: declared.merging(scraped.families) { mine, _ in mine }, samples: scraped.sampleNames)
        let queries = try MonitoringFiles.dashboardQueries() + MonitoringFiles.ruleQueries()
        XCTAssertGreaterThan(queries.count, 10)
        for query in queries {
            XCTAssertFalse(query.metricNames.isEmpty, "\(query.location) selects no metric: \(query.expression)")
            let unknown = query.metricNames.subtracting(exposition.sampleNames)
            XCTAssertEqual(unknown, [], "\(query.location) names metrics delegsync does not export: \(query.expression)")
        }

        // Every family the agent exports has a place on the dashboard.
        let onDashboard = try MonitoringFiles.dashboardQueries().reduce(into: Set<String>()) { $0.formUnion($1.metricNames) }
        for (family, type) in exposition.families where family.hasPrefix("delegsync_") {
            XCTAssertFalse(onDashboard.isDisjoint(with: MetricsExposition.sampleNames(family: family, type: type)), "\(family) is not on the dashboard")
        }

        // The check can fail: a misspelt metric, and a histogram named without its suffix.
        let misspelt = try PromQL.metricNames(in: "sum(delegsync_outbox_dept) + rate(delegsync_sig0_verification_seconds[5m])")
        XCTAssertEqual(misspelt.subtracting(exposition.sampleNames), ["delegsync_outbox_dept", "delegsync_sig0_verification_seconds"])
    }
}

/// The Prometheus text exposition format (0.0.4) as scraped: each family's name and type from
/// its `# TYPE` line, and the names of the series a query can select.
struct MetricsExposition {
    /// Family name → type (counter, gauge, histogram, summary, untyped).
    let families: [String: String]
    /// Names a query may select: every family's sample names (a histogram's `_bucket`, `_sum`,
    /// `_count`), whether or not a series exists yet, and the names of the samples present.
    let sampleNames: Set<String>

    init(families: [String: String], samples: Set<String>) {
        self.families = families
        sampleNames = families.reduce(into: samples) { $0.formUnion(Self.sampleNames(family: $1.key, type: $1.value)) }
    }

    init(_ text: String) {
        var families: [String: String] = [:]
        var names = Set<String>()
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count >= 4, fields[0] == "#", fields[1] == "TYPE" {
                families[String(fields[2])] = String(fields[3])
            } else if !line.hasPrefix("#"), let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first {
                names.insert(String(name))
            }
        }
        self.families = families
        sampleNames = families.reduce(into: names) { $0.formUnion(Self.sampleNames(family: $1.key, type: $1.value)) }
    }

    static func sampleNames(family: String, type: String) -> Set<String> {
        switch type {
        case "histogram": ["\(family)_bucket", "\(family)_sum", "\(family)_count"]
        case "summary": [family, "\(family)_sum", "\(family)_count"]
        default: [family]
        }
    }
}
