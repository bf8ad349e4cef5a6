import Agent
import Foundation
import XCTest

/// docs/configuration.md is the configuration reference, in Knot's style: one `###` section per
/// key path (`### zones[].bootstrap.rounds`) under `## Parent agent: …` and `## Child agent: …`.
/// These tests keep it in step with the commented samples, which show every key (some commented
/// out): each key of a sample has a section, and no section names a key its sample does not show.
/// That the parser accepts contrib/delegsync.yaml itself is checked in AgentConfigurationTests.
final class ConfigurationReferenceTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let reference = "docs/configuration.md"

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    func testEveryKeyOfTheParentSampleHasASection() throws {
        try checkReference(covers: "contrib/delegsync.yaml", section: "Parent agent")
    }

    func testEveryKeyOfTheChildSampleHasASection() throws {
        let sample = "contrib/delegsync-child.yaml"
        guard FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(sample).path) else {
            print("note: \(sample) does not exist, so the child agent's half of \(Self.reference) is not checked")
            return
        }
        try checkReference(covers: sample, section: "Child agent")
    }

    /// The minimal parent file the reference shows is one the parser accepts.
    func testMinimalParentExampleParses() throws {
        let blocks = ReferenceText.codeBlocks(in: try Self.read(Self.reference)).filter { $0.hasPrefix("# /etc/delegsync/delegsync.yaml\n") }
        XCTAssertEqual(blocks.count, 1, "\(Self.reference) should show one minimal parent file, starting # /etc/delegsync/delegsync.yaml")
        for block in blocks {
            XCTAssertNoThrow(try AgentConfiguration.parse(block, file: "\(Self.reference) (minimal example)"))
        }
    }

    func testKeyPathsComeFromIndentationListsFlowMappingsAndCommentedOutLines() {
        let sample = """
            # A header comment: the sample documents itself.
            version: 1
            # Where to listen. Default: [{address: 127.0.0.1, port: 5302}]
            listen:
              - address: 127.0.0.1
                port: 5302
            store:
              # Default: /var/lib/x.sqlite
              path: /var/lib/x.sqlite
            # identity:
            #   key-file: /etc/k.private   # Default: none
            zones:
              - # The zone. Required.
                name: parent.
                backend:
                  type: rfc2136
                  # script: write the text here instead of running a command.
                  # command: [knsupdate, -y, hmac-sha256:name:secret]
                bootstrap: { rounds: 3, resolver: { address: 127.0.0.1 } }
                # servers:
                #   - address: 192.0.2.53
                #     port: 53          # Default: 53
                servers: []
                peers: [{address: 192.0.2.1, port: 53}]
            compact:
            - name: a
              ttl: 5
            - name: b
            last: true
            """
        XCTAssertEqual(
            SampleKeys.paths(in: sample),
            [
                "version", "listen", "listen[].address", "listen[].port", "store", "store.path", "identity", "identity.key-file", "zones", "zones[].name",
                "zones[].backend", "zones[].backend.type", "zones[].backend.command", "zones[].bootstrap", "zones[].bootstrap.rounds",
                "zones[].bootstrap.resolver", "zones[].servers", "zones[].servers[].address", "zones[].servers[].port", "zones[].peers",
                "zones[].peers[].address", "zones[].peers[].port", "compact", "compact[].name", "compact[].ttl", "last",
            ])
    }

    /// The keys of `sample` and the `###` headings of the reference's section whose `##` title
    /// starts with `section` are the same set.
    func checkReference(covers sample: String, section: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let keys = SampleKeys.paths(in: try Self.read(sample))
        XCTAssertFalse(keys.isEmpty, "no keys found in \(sample)", file: file, line: line)
        let sections = ReferenceText.sections(in: try Self.read(Self.reference))
        guard let documented = sections.first(where: { $0.title.hasPrefix(section) }) else {
            XCTFail("\(Self.reference) has no section \"## \(section): …\" for \(sample)", file: file, line: line)
            return
        }
        let headings = documented.headings
        let missing = keys.filter { !headings.contains($0) }
        XCTAssertEqual(
            missing, [],
            "\(Self.reference) has no heading for these keys of \(sample); add a \"### KEY\" section for each under \"## \(documented.title)\"",
            file: file, line: line)
        let unknown = headings.filter { !keys.contains($0) }
        XCTAssertEqual(
            unknown, [],
            "\(Self.reference) documents keys \(sample) does not show: a key the parser reads belongs in the sample too, one it does not read belongs nowhere",
            file: file, line: line)
        let repeated = Dictionary(grouping: headings, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        XCTAssertEqual(repeated, [], "\(Self.reference) has these headings twice under \"## \(documented.title)\"", file: file, line: line)
    }
}

/// Every key path a commented YAML sample shows, in order: `zones[].bootstrap.rounds` for
/// `rounds:` under `bootstrap:` in an entry of the `zones:` list. A deliberately small walk over
/// `key:` lines by indentation, not a YAML parser; it also reads the keys of commented-out lines
/// (`# approval-command: [...]`, `#   key-file: …`), whose nesting is the indentation after the
/// `#`, and the keys of one-line flow mappings (`{ address: …, port: … }`).
///
/// A comment counts as a commented-out key only when it reads `key:` followed by nothing, one
/// word, or a flow list or mapping; prose such as `# script: write the text here …` does not.
enum SampleKeys {
    struct Entry {
        let indent: Int
        let path: String
        let isItem: Bool
    }

    static func paths(in yaml: String) -> [String] {
        var stack: [Entry] = []
        var found: [String] = []
        func record(_ path: String) {
            if !found.contains(path) { found.append(path) }
        }
        for raw in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            let text = String(raw)
            let lead = text.prefix { $0 == " " }.count
            var content = String(text.dropFirst(lead))
            var indent = lead
            let commented = content.hasPrefix("#")
            if commented {
                let afterHash = content.dropFirst()
                let spaces = afterHash.prefix { $0 == " " }.count
                indent = lead + max(spaces - 1, 0)
                content = String(afterHash.dropFirst(spaces))
            }
            guard !content.isEmpty else { continue }

            var itemIndent: Int? = nil
            if content == "-" || content.hasPrefix("- ") {
                itemIndent = indent
                let rest = content.dropFirst()
                let spaces = rest.prefix { $0 == " " }.count
                indent += 1 + spaces
                content = String(rest.dropFirst(spaces))
            }
            let key = keyAndValue(content)
            if commented {
                // A commented line matters only when it is a commented-out key.
                guard let key, looksLikeValue(key.value) else { continue }
            } else if key == nil, itemIndent == nil {
                continue
            }

            if let itemIndent {
                while let top = stack.last, top.indent > itemIndent || (top.indent == itemIndent && top.isItem) { stack.removeLast() }
                stack.append(Entry(indent: itemIndent, path: (stack.last?.path ?? "") + "[]", isItem: true))
            }
            guard let key else { continue }
            while let top = stack.last, top.indent >= indent { stack.removeLast() }
            let path = stack.last.map { "\($0.path).\(key.name)" } ?? key.name
            record(path)
            stack.append(Entry(indent: indent, path: path, isItem: false))
            let inList = key.value.hasPrefix("[")
            for name in flowKeys(key.value) { record(inList ? "\(path)[].\(name)" : "\(path).\(name)") }
        }
        return found
    }

    /// `name: value` with the value's trailing comment removed; nil when the line is not a key.
    static func keyAndValue(_ content: String) -> (name: String, value: String)? {
        guard let colon = content.firstIndex(of: ":") else { return nil }
        let name = String(content[..<colon])
        guard isKey(name) else { return nil }
        var value = content[content.index(after: colon)...]
        guard value.isEmpty || value.first == " " else { return nil }
        if let comment = value.range(of: " #") { value = value[..<comment.lowerBound] }
        return (name, value.trimmingCharacters(in: .whitespaces))
    }

    static func isKey(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// What a configuration value looks like, as against a sentence: nothing, one word, or a
    /// flow collection.
    static func looksLikeValue(_ value: String) -> Bool {
        if value.isEmpty || !value.contains(" ") { return true }
        return (value.hasPrefix("[") && value.hasSuffix("]")) || (value.hasPrefix("{") && value.hasSuffix("}"))
    }

    /// The keys of a one-line flow mapping (`{ a: 1, b: 2 }`) or list of them
    /// (`[{a: 1}, {a: 2}]`); nested collections are not looked into.
    static func flowKeys(_ value: String) -> [String] {
        var brackets: [Character] = []
        var keys: [String] = []
        var candidate: String? = nil
        for character in value {
            switch character {
            case "{", "[":
                brackets.append(character)
                candidate = character == "{" ? "" : nil
            case "}", "]":
                _ = brackets.popLast()
                candidate = nil
            case ",":
                candidate = brackets.last == "{" ? "" : nil
            case ":":
                if let name = candidate?.trimmingCharacters(in: .whitespaces), isKey(name), brackets == ["{"] || brackets == ["[", "{"],
                    !keys.contains(name)
                {
                    keys.append(name)
                }
                candidate = nil
            default:
                candidate?.append(character)
            }
        }
        return keys
    }
}

/// The parts of docs/configuration.md the tests read: `##` sections with their `###` headings,
/// and fenced code blocks. Lines inside code blocks are never headings.
enum ReferenceText {
    struct Section {
        let title: String
        var headings: [String]
    }

    static func sections(in markdown: String) -> [Section] {
        var sections: [Section] = []
        var inCode = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inCode.toggle()
                continue
            }
            guard !inCode else { continue }
            if line.hasPrefix("## ") {
                sections.append(Section(title: title(line.dropFirst(3)), headings: []))
            } else if line.hasPrefix("### "), !sections.isEmpty {
                sections[sections.count - 1].headings.append(title(line.dropFirst(4)))
            }
        }
        return sections
    }

    static func title(_ text: Substring) -> String {
        text.replacingOccurrences(of: "`", with: "").trimmingCharacters(in: .whitespaces)
    }

    /// The text of each fenced code block.
    static func codeBlocks(in markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]? = nil
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                if let lines = current {
                    blocks.append(lines.joined(separator: "\n") + "\n")
                    current = nil
                } else {
                    current = []
                }
            } else {
                current?.append(line)
            }
        }
        return blocks
    }
}
