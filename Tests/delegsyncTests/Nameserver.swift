import Foundation
import TestSupport
import XCTest

/// BIND 9, Knot DNS and NSD as checkers of zone files and configuration snippets, with the
/// tools each ships: `named-checkzone`/`named-checkconf`, `kzonecheck`/`knotc conf-check`,
/// `nsd-checkzone`/`nsd-checkconf`.
///
/// Snippets are fragments, so each check first completes one in a temporary directory:
/// - a zone fragment gets `$ORIGIN` and `$TTL`, an SOA unless it has one, and an apex NS with
///   its glue (`snippet-ns.ORIGIN A 192.0.2.1`) so the zone is complete;
/// - in a configuration every absolute path (`/etc/…`, `/var/…`, …) is moved below the
///   temporary directory; the zone files it names are written there as minimal zones (the
///   zone name taken from the enclosing `zone "…"` / `domain:` / `name:`); the files it
///   includes get the TSIG keys its ACLs use and it does not define (made by `tsig-keygen` for
///   BIND, `keymgr -t` for Knot); BIND gets `options { directory … }` and Knot `server:` and
///   `database:` sections pointing into the directory.
/// Then BIND checks the configuration with its zones (`named-checkconf -z`), Knot with
/// `knotc conf-check` and `knotc zone-check`, NSD with `nsd-checkconf`.
enum Nameserver: String, CaseIterable, CustomStringConvertible {
    case bind, knot, nsd

    var description: String { rawValue }

    /// How the docs' snippet markers name this server's configuration.
    var configurationName: String {
        switch self {
        case .bind: "named.conf"
        case .knot: "knot.conf"
        case .nsd: "nsd.conf"
        }
    }

    /// The tools a check needs, and the Debian package that has them.
    private var tools: (zone: String, configuration: [String], package: String) {
        switch self {
        case .bind: ("named-checkzone", ["named-checkconf", "tsig-keygen"], "bind9-utils")
        case .knot: ("kzonecheck", ["knotc", "keymgr"], "knot-dnssecutils and knot")
        case .nsd: ("nsd-checkzone", ["nsd-checkconf"], "nsd")
        }
    }

    /// Skips the test when a checker is not installed (`make deps` installs them all).
    func requireTools() throws {
        for tool in [tools.zone] + tools.configuration where Tool.find(tool) == nil {
            throw XCTSkip("\(tool) is not installed (Debian package \(tools.package); make deps installs it)")
        }
    }

    /// Loads `fragment` as part of the zone `origin`; the result's status is 0 when it loads.
    func checkZone(_ fragment: String, origin: String) throws -> SnippetCheck {
        let directory = try Tool.temporaryDirectory("snippet-\(self)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/zone"
        let text = Self.completeZone(movingPaths(fragment, into: directory), origin: origin)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        try createIncludedFiles(text, in: directory)
        switch self {
        case .bind: return SnippetCheck(try Tool.run(tools.zone, [origin, file]), checked: text)
        case .knot: return SnippetCheck(try Tool.run(tools.zone, ["-v", "-o", origin, file]), checked: text)
        case .nsd: return SnippetCheck(try Tool.run(tools.zone, [origin, file]), checked: text)
        }
    }

    /// Loads `snippet` as this server's configuration.
    func checkConfiguration(_ snippet: String) throws -> SnippetCheck {
        let directory = try Tool.temporaryDirectory("snippet-\(self)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let moved = movingPaths(snippet, into: directory)
        let file = "\(directory)/\(configurationName)"
        switch self {
        case .bind:
            let text = (moved.contains("options {") ? "" : "options { directory \"\(directory)\"; pid-file none; };\n") + moved
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            try writeZoneFiles(of: text, statement: #"zone\s+"([^"]+)"[\s\S]*?\bfile\s+"([^"]+)""#)
            try writeKeys(
                used: Self.matches(#"grant\s+([A-Za-z0-9_.-]+)"#, in: text), defined: Self.matches(#"key\s+"([^"]+)""#, in: text),
                into: Self.matches(#"include\s+"([^"]+)""#, in: text))
            return SnippetCheck(try Tool.run("named-checkconf", ["-z", file]), checked: text)
        case .knot:
            var text = moved
            if !text.contains("\nserver:") && !text.hasPrefix("server:") { text = "server:\n  rundir: \(directory)\n" + text }
            if !text.contains("\ndatabase:") { text = "database:\n  storage: \(directory)\n" + text }
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            try writeZoneFiles(of: text, statement: #"-\s*domain:\s*(\S+)\s*\n(?:\s+[a-z-]+:.*\n)*?\s+file:\s*(\S+)"#)
            try writeKeys(
                used: Self.knotKeysUsed(text), defined: Self.matches(#"(?m)^key:\s*\n\s+-\s*id:\s*(\S+)"#, in: text),
                into: Self.matches(#"(?m)^include:\s*(\S+)"#, in: text))
            let checked = SnippetCheck(try Tool.run("knotc", ["-c", file, "conf-check"]), checked: text)
            guard checked.passed else { return checked }
            return SnippetCheck(try Tool.run("knotc", ["-c", file, "zone-check"]), checked: text)
        case .nsd:
            // nsd-checkconf does not open the zone files: none are written.
            try moved.write(toFile: file, atomically: true, encoding: .utf8)
            return SnippetCheck(try Tool.run("nsd-checkconf", [file]), checked: moved)
        }
    }

    // MARK: Completing fragments

    static func completeZone(_ fragment: String, origin: String) -> String {
        let hasSOA = fragment.components(separatedBy: "\n").contains { line in
            line.split(whereSeparator: \.isWhitespace).prefix(5).contains("SOA") && !line.hasPrefix(";")
        }
        var text = "$ORIGIN \(origin)\n$TTL 3600\n"
        if !hasSOA { text += "@ IN SOA snippet-ns.\(origin) hostmaster.\(origin) 1 3600 900 604800 300\n" }
        text += "@ IN NS snippet-ns.\(origin)\nsnippet-ns.\(origin) IN A 192.0.2.1\n"
        return text + fragment
    }

    /// Absolute paths (`/etc/…`, `/var/…`, `/usr/…`, `/run/…`, `/srv/…`, `/opt/…`) moved below
    /// `directory`.
    private func movingPaths(_ text: String, into directory: String) -> String {
        let pattern = try! NSRegularExpression(pattern: #"(?<![\w./-])/(etc|var|usr|run|srv|opt)/"#)
        return pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "\(directory)/$1/")
    }

    /// A minimal zone for every (zone name, file) pair `statement` captures.
    private func writeZoneFiles(of text: String, statement: String) throws {
        let regex = try NSRegularExpression(pattern: statement)
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let name = Range(match.range(at: 1), in: text), let path = Range(match.range(at: 2), in: text) else { continue }
            let origin = String(text[name]).hasSuffix(".") ? String(text[name]) : String(text[name]) + "."
            try Self.write(Self.completeZone("", origin: origin), to: String(text[path]))
        }
    }

    /// `$INCLUDE`d files of a zone, created empty.
    private func createIncludedFiles(_ zone: String, in directory: String) throws {
        for path in Self.matches(#"(?m)^\$INCLUDE\s+(\S+)"#, in: zone) where !FileManager.default.fileExists(atPath: path) {
            try Self.write("", to: path)
        }
    }

    /// Writes a TSIG key for every name in `used` but not in `defined` into the first of
    /// `files`; the others are created empty.
    private func writeKeys(used: [String], defined: [String], into files: [String]) throws {
        var keys = ""
        for name in Set(used).subtracting(defined).sorted() {
            let made =
                self == .bind
                ? try Tool.run("tsig-keygen", ["-a", "hmac-sha256", name]) : try Tool.run("keymgr", ["-t", name, "hmac-sha256"])
            guard made.status == 0 else { throw ToolError("cannot make TSIG key \(name): \(made.stderr)") }
            keys += made.stdout
        }
        for (index, path) in files.enumerated() { try Self.write(index == 0 ? keys : "", to: path) }
    }

    /// The keys named by `key:` in Knot's `acl:` and `remote:` items.
    private static func knotKeysUsed(_ text: String) -> [String] {
        matches(#"(?m)^\s+key:\s*\[?([^\]\n]+)\]?\s*$"#, in: text).flatMap { list in
            list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }

    static func matches(_ pattern: String, in text: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    private static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// What a checker said about a completed snippet.
struct SnippetCheck {
    let passed: Bool
    /// The checker's output and the text it checked, for a failure message.
    let report: String

    init(_ result: Tool.Result, checked text: String) {
        passed = result.status == 0
        report = "exit \(result.status): \(result.stdout)\(result.stderr)\n--- checked:\n\(text)"
    }
}
