import Foundation
import TestSupport
import XCTest

/// `make install DESTDIR=…` stages what an operator gets: the binary, delegsync(8) and a page
/// per subcommand (made by swift-argument-parser's generate-manual plugin from the command
/// definitions), the systemd units with their paths set to PREFIX, the hook, the docs and
/// examples, and the sample configurations without overwriting one that exists. It installs
/// the tests' own debug build (`BINARY=`) and the pages `make test` generated before the tests
/// (`MAN_PAGES=.build/man`): the plugin cannot run from here, `swift test` holds the build
/// directory until the tests end.
final class InstallIntegrationTests: CommandLineTestCase {
    static let prefix = "/opt/delegsync"
    static let manPages = CommandLineTestCase.repository.appendingPathComponent(".build/man").path

    /// Every command's page name, `delegsync.child.sync.8`, from the binary's own command tree.
    static func expectedPages(_ binary: String) throws -> Set<String> {
        let dump = try Tool.run(binary, ["--experimental-dump-help"])
        guard dump.status == 0, let tree = try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any],
            let root = tree["command"] as? [String: Any]
        else { throw ToolError("--experimental-dump-help: \(dump.stderr)") }
        func pages(_ command: [String: Any], _ path: [String]) -> [String] {
            let name = path + [command["commandName"] as? String ?? "?"]
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            return [name.joined(separator: ".") + ".8"] + subcommands.flatMap { pages($0, name) }
        }
        return Set(pages(root, []))
    }

    /// What `man -l` says about a page: its text, and the warnings groff gives (`--warnings`).
    static func render(_ page: String) throws -> (text: String, warnings: String) {
        let result = try Tool.run("/usr/bin/env", ["LC_ALL=C.UTF-8", "MANWIDTH=80", "man", "--warnings", "-l", page])
        guard result.status == 0 else { throw ToolError("man -l \(page): exit \(result.status): \(result.stderr)") }
        return (result.stdout, result.stderr)
    }

    func testMakeInstallStagesBinaryManPagesUnitsAndSamples() throws {
        guard let make = Tool.find("make"), Tool.find("man") != nil else { throw XCTSkip("make and man (man-db) are needed; make deps installs them") }
        let binary = try XCTUnwrap(DelegsyncBinary.path, "no delegsync binary: swift build first")
        if !FileManager.default.fileExists(atPath: "\(Self.manPages)/delegsync.8") {
            let missing = "no man pages in \(Self.manPages): run make man CONFIGURATION=debug (make test does)"
            if ProcessInfo.processInfo.environment["CI"] != nil { throw ToolError(missing) }
            throw XCTSkip(missing)
        }
        let stage = "\(directory)/stage"
        // An operator's own configuration, which make install must keep.
        try FileManager.default.createDirectory(atPath: "\(stage)/etc/delegsync", withIntermediateDirectories: true)
        try "# mine\n".write(toFile: "\(stage)/etc/delegsync/delegsync.yaml", atomically: true, encoding: .utf8)

        let installed = try Tool.run(
            make,
            [
                "-C", CommandLineTestCase.repository.path, "install", "DESTDIR=\(stage)", "PREFIX=\(Self.prefix)", "BINARY=\(binary)",
                "MAN_PAGES=\(Self.manPages)",
            ])
        XCTAssertEqual(installed.status, 0, installed.stdout + installed.stderr)
        let root = stage + Self.prefix

        // The binary.
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "\(root)/bin/delegsync"))
        XCTAssertEqual(try Tool.run("\(root)/bin/delegsync", ["--version"]).stdout, try delegsync("--version").stdout)

        // A page for every command, each rendered by man without a warning.
        let pages = try FileManager.default.contentsOfDirectory(atPath: "\(root)/share/man/man8")
        XCTAssertEqual(Set(pages), try Self.expectedPages(binary), "the pages in \(Self.manPages) are not this binary's: make man CONFIGURATION=debug")
        for page in pages {
            let (text, warnings) = try Self.render("\(root)/share/man/man8/\(page)")
            XCTAssertEqual(warnings, "", page)
            let command = page.dropLast(2).replacingOccurrences(of: ".", with: " ")
            XCTAssertTrue(text.contains("NAME\n     \(command) — "), "\(page):\n\(text)")
        }

        // The units name the installed binary, docs and configuration, and systemd accepts them
        // (checked with the staged paths, where the binary is).
        for unit in ["delegsync.service", "delegsync-child-watch.service"] {
            let text = try String(contentsOfFile: "\(root)/lib/systemd/system/\(unit)", encoding: .utf8)
            XCTAssertTrue(text.contains("\nExecStart=\(Self.prefix)/bin/delegsync "), text)
            XCTAssertTrue(text.contains("\nDocumentation=file://\(Self.prefix)/share/doc/delegsync/"), text)
            XCTAssertTrue(text.contains(" --config /etc/delegsync/"), text)
            XCTAssertFalse(text.contains("/usr/local/bin") || text.contains("/usr/local/share"), text)
            if let analyze = Tool.find("systemd-analyze") {
                let staged = "\(directory)/\(unit)"
                try text.replacingOccurrences(of: "\(Self.prefix)/", with: "\(root)/").write(toFile: staged, atomically: true, encoding: .utf8)
                let verified = try Tool.run(analyze, ["verify", staged])
                XCTAssertEqual(verified.status, 0, verified.stderr)
                XCTAssertEqual(verified.stderr, "", unit)
            }
        }

        // The hook, the docs and the examples.
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "\(root)/libexec/delegsync/delegsync-child-sync"))
        for file in [
            "parent.md", "child.md", "configuration.md", "hooks.md", "examples/delegsync.yaml", "examples/grafana/delegsync.json",
            "examples/prometheus/delegsync-rules.yml", "examples/knot/knot.conf.snippet",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(root)/share/doc/delegsync/\(file)"), file)
        }

        // The samples: the existing configuration kept, the missing one installed.
        XCTAssertEqual(try String(contentsOfFile: "\(stage)/etc/delegsync/delegsync.yaml", encoding: .utf8), "# mine\n")
        XCTAssertEqual(
            try String(contentsOfFile: "\(stage)/etc/delegsync/child.yaml", encoding: .utf8),
            try String(contentsOf: CommandLineTestCase.repository.appendingPathComponent("contrib/delegsync-child.yaml"), encoding: .utf8))
        XCTAssertTrue(installed.stdout.contains("kept \(stage)/etc/delegsync/delegsync.yaml"), installed.stdout)
    }

    /// The rendering check above can fail: groff's warnings about a broken page reach it.
    func testRenderReportsWarningsOfABrokenPage() throws {
        guard Tool.find("man") != nil else { throw XCTSkip("man (man-db) is needed; make deps installs it") }
        let page = "\(directory)/broken.8"
        try ".Dd December 1, 2026\n.Dt BROKEN 8\n.Os\n.Sh NAME\n.Nm broken\n.Nd a page\n.Zz no such macro\n"
            .write(toFile: page, atomically: true, encoding: .utf8)
        XCTAssertTrue(try Self.render(page).warnings.contains("Zz"))
    }
}
