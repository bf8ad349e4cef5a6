import Foundation

/// A zone-file or nameserver-configuration snippet from docs/ or contrib/, and where it is.
///
/// In docs/*.md a snippet is a fenced code block right after a marker line, an HTML comment
/// that readers of the rendered page do not see:
///
///     <!-- snippet: zone parent. -->            a zone-file fragment for the origin parent.,
///                                               loaded by BIND, Knot and NSD
///     <!-- snippet: zone parent. bind -->       the same, loaded by the servers named only
///     <!-- snippet: named.conf -->              BIND configuration
///     <!-- snippet: knot.conf -->               Knot DNS configuration
///     <!-- snippet: nsd.conf -->                NSD configuration
///
/// Anything outside a marked block that looks like a zone record or a nameserver's
/// configuration (``Snippet/looksLikeZoneOrConfiguration(_:)``) is reported as unmarked, so a
/// snippet added to the docs cannot escape the checks by being forgotten.
struct Snippet: CustomStringConvertible {
    enum Kind: Equatable {
        case zone(origin: String)
        case configuration(Nameserver)
    }

    let kind: Kind
    /// The servers that must load it: every one for a zone fragment unless the marker names
    /// some; the one it configures for a configuration.
    let servers: [Nameserver]
    let text: String
    /// `FILE:LINE` of the first line of the snippet.
    let location: String

    var description: String { location }

    /// The snippets of a Markdown file, and the `FILE:LINE` of every line that looks like a
    /// zone or configuration but is not inside a marked block.
    static func markdown(_ text: String, file: String) throws -> (snippets: [Snippet], unmarked: [String]) {
        let lines = text.components(separatedBy: "\n")
        var snippets: [Snippet] = []
        var unmarked: [String] = []
        var marker: (kind: Kind, servers: [Nameserver], line: Int)?
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let fence = Self.fence(trimmed) {
                var end = index + 1
                while end < lines.count, !lines[end].trimmingCharacters(in: .whitespaces).hasPrefix(fence) { end += 1 }
                // CommonMark: the fence's own indentation is removed from the lines it holds.
                let indentation = line.prefix { $0 == " " }.count
                let body = lines[(index + 1)..<min(end, lines.count)].map { bodyLine in
                    String(bodyLine.dropFirst(min(indentation, bodyLine.prefix { $0 == " " }.count)))
                }
                if let current = marker {
                    snippets.append(
                        Snippet(kind: current.kind, servers: current.servers, text: body.joined(separator: "\n") + "\n", location: "\(file):\(index + 2)"))
                } else {
                    for (offset, bodyLine) in body.enumerated() where looksLikeZoneOrConfiguration(bodyLine) {
                        unmarked.append("\(file):\(index + 2 + offset): \(bodyLine)")
                    }
                }
                marker = nil
                index = end + 1
                continue
            }
            if let current = marker, !trimmed.isEmpty {
                throw SnippetError("\(file):\(current.line + 1): a snippet marker must be followed by a fenced code block")
            }
            if trimmed.hasPrefix("<!-- snippet:") {
                let (kind, servers) = try Self.marker(trimmed, at: "\(file):\(index + 1)")
                marker = (kind, servers, index)
            } else if looksLikeZoneOrConfiguration(line) {
                unmarked.append("\(file):\(index + 1): \(line)")
            }
            index += 1
        }
        if let current = marker { throw SnippetError("\(file):\(current.line + 1): a snippet marker at the end of the file") }
        return (snippets, unmarked)
    }

    /// The fence that closes a block opened by `line` (three or more backticks or tildes), or nil.
    private static func fence(_ line: String) -> String? {
        for character in ["`", "~"] {
            let run = line.prefix { String($0) == character }
            if run.count >= 3 { return String(run) }
        }
        return nil
    }

    private static func marker(_ line: String, at location: String) throws -> (Kind, [Nameserver]) {
        guard line.hasSuffix("-->") else { throw SnippetError("\(location): a snippet marker is one line ending in -->") }
        let words = line.dropFirst("<!-- snippet:".count).dropLast(3).split(separator: " ").map(String.init)
        switch words.first {
        case "zone":
            guard words.count >= 2, words[1].hasSuffix(".") else {
                throw SnippetError("\(location): write `<!-- snippet: zone ORIGIN. [bind] [knot] [nsd] -->`")
            }
            let servers = try words.dropFirst(2).map { word in
                guard let server = Nameserver(rawValue: word) else { throw SnippetError("\(location): unknown server \(word) (bind, knot or nsd)") }
                return server
            }
            return (.zone(origin: words[1]), servers.isEmpty ? Nameserver.allCases : servers)
        case let name?:
            guard let server = Nameserver.allCases.first(where: { $0.configurationName == name }), words.count == 1 else {
                throw SnippetError("\(location): unknown snippet kind \(words.joined(separator: " ")) (zone ORIGIN, named.conf, knot.conf, nsd.conf)")
            }
            return (.configuration(server), [server])
        case nil:
            throw SnippetError("\(location): empty snippet marker")
        }
    }

    // MARK: What a snippet looks like

    /// The record types the docs and contrib/ use, and the RFC 3597 form.
    private static let recordType = #"(A|AAAA|NS|DS|KEY|DSYNC|SVCB|HTTPS|CDS|CDNSKEY|DNSKEY|SOA|TXT|CNAME|MX|CSYNC|PTR|SRV|TYPE[0-9]+)"#

    /// `owner TTL class TYPE rdata` (TTL or class, or both in either order: without either,
    /// prose such as "reply. A KEY-only change" would pass for a record), or a zone-file
    /// directive.
    static let zoneLine = try! NSRegularExpression(
        pattern: #"^\s*(\$(ORIGIN|TTL|INCLUDE)\s+\S|[A-Za-z0-9*_@][A-Za-z0-9*_.-]*\s+((\d+|IN|CH)\s+){1,2}"# + recordType + #"\s+\S)"#)

    /// Statements of named.conf, and the section headers and list items of Knot's and NSD's
    /// configuration files.
    private static let configurationLine = try! NSRegularExpression(
        pattern: #"^\s*((zone|key|view)\s+"[^"]+"\s*(IN\s*)?\{|(options|controls|update-policy|also-notify|allow-[a-z-]+)\s*\{|include\s+"[^"]+"\s*;)"#
            + #"|^(server|zone|acl|key|remote|template|database|control|policy|submission|remote-control|pattern):\s*$"#
            + #"|^\s*- (domain|id):\s*\S|^\s*(zonefile|zonesdir|ip-address):\s*\S"#)

    static func looksLikeZoneOrConfiguration(_ line: String) -> Bool {
        let range = NSRange(line.startIndex..., in: line)
        return zoneLine.firstMatch(in: line, range: range) != nil || configurationLine.firstMatch(in: line, range: range) != nil
    }

    /// The zone-file lines in the comments of a configuration file (`#`, `//` or `;`), e.g. the
    /// DSYNC record a snippet tells the operator to add to the zone.
    static func zoneLinesInComments(_ text: String) -> [String] {
        text.components(separatedBy: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard let leader = ["//", "#", ";"].first(where: { trimmed.hasPrefix($0) }) else { return nil }
            let content = trimmed.dropFirst(leader.count).trimmingCharacters(in: .whitespaces)
            let range = NSRange(content.startIndex..., in: content)
            return zoneLine.firstMatch(in: content, range: range) == nil ? nil : content
        }
    }
}

struct SnippetError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
