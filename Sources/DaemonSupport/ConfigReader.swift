import Foundation
import LocalFiles
import Yams

/// A configuration problem: the file, the line of the YAML node it is about (when known), the
/// key path, and what to fix — `delegsync.yaml:12: zones[0].ttl: -1 is outside 0–604800`.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public let file: String
    /// The line, counted from 1, of the key (or list entry) the problem is about.
    public let line: Int?
    public let key: String
    public let problem: String

    public init(file: String, line: Int? = nil, key: String, problem: String) {
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
    }

    public var description: String {
        (line.map { "\(file):\($0): " } ?? "\(file): ") + (key.isEmpty ? "" : "\(key): ") + problem
    }
}

/// Walks the YAML tree with the schema, so errors carry the exact key path and its line. Shared
/// by the parent's and the child's configuration files.
///
/// The document is checked as a whole first: it must be text (``InputFile``), valid YAML, a
/// mapping at the top, and no mapping may repeat a key (YAML forbids it, YAML 1.2 §3.2.1.1, but
/// the parser would silently keep only the last one).
public struct ConfigReader {
    public let file: String
    /// The top-level mapping.
    public let document: Node.Mapping

    /// Reads and parses the file at `path`; a file that cannot be read, or is not text, is an
    /// ``InputFileError`` naming the reason.
    public init(path: String) throws {
        try self.init(file: path, text: InputFile.text(path))
    }

    /// Parses YAML text; `file` names it in errors.
    public init(file: String, text: String) throws {
        self.file = file
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.syntaxError(error, file: file, lines: max(1, text.split(separator: "\n", omittingEmptySubsequences: false).count - (text.hasSuffix("\n") ? 1 : 0)))
        } catch {
            throw ConfigurationError(file: file, key: "", problem: "not valid YAML: \(error)")
        }
        guard let root = node?.mapping else {
            throw ConfigurationError(file: file, line: node?.mark?.line, key: "", problem: "the top level must be a mapping with a version key")
        }
        document = root
        try Self.refuseDuplicateKeys(.mapping(root), at: "", file: file)
    }

    /// A YAML syntax error as one line: where, and libyaml's words for it, without the text. An
    /// error at the end of the text is put on its last line (of `lines`).
    static func syntaxError(_ error: YamlError, file: String, lines: Int) -> ConfigurationError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let around = context.map { " (\($0.text)" + ($0.mark.line > lines ? ")" : ", line \($0.mark.line) column \($0.mark.column))") } ?? ""
            let place = mark.line > lines ? "at the end" : "at column \(mark.column)"
            return ConfigurationError(file: file, line: min(mark.line, lines), key: "", problem: "not valid YAML: \(problem) \(place)\(around)")
        case .reader(let problem, _, _, _):
            return ConfigurationError(file: file, key: "", problem: "not valid YAML: \(problem)")
        default:
            return ConfigurationError(file: file, key: "", problem: "not valid YAML: \(error)")
        }
    }

    /// Refuses a mapping that has a key twice, anywhere in the tree, naming both lines.
    static func refuseDuplicateKeys(_ node: Node, at path: String, file: String) throws {
        switch node {
        case .mapping(let mapping):
            var seen: [String: Node] = [:]
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { continue }
                let keyPath = path.isEmpty ? name : "\(path).\(name)"
                if let first = seen[name] {
                    let firstLine = first.mark.map { " (first at line \($0.line))" } ?? ""
                    throw ConfigurationError(
                        file: file, line: key.mark?.line, key: keyPath, problem: "given twice\(firstLine); write each key once")
                }
                seen[name] = key
                try refuseDuplicateKeys(value, at: keyPath, file: file)
            }
        case .sequence(let sequence):
            for (index, item) in sequence.enumerated() { try refuseDuplicateKeys(item, at: "\(path)[\(index)]", file: file) }
        default:
            break
        }
    }

    /// An error about the node at `path` (`zones[0].backend.type`), with the line of that key;
    /// for a key that is missing, the line of the deepest key on its path that is there.
    public func fail(_ path: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, line: line(of: path), key: path, problem: problem)
    }

    /// The line of the key or list entry `path` names, or of its nearest ancestor in the
    /// document; nil for the top level.
    public func line(of path: String) -> Int? {
        var node = Node.mapping(document)
        var line: Int? = nil
        for component in path.split(separator: ".") {
            var rest = Substring(component)
            let name = rest.prefix { $0 != "[" }
            rest = rest.dropFirst(name.count)
            if !name.isEmpty {
                guard let pair = node.mapping?.first(where: { $0.key.scalar?.string == String(name) }) else { return line }
                line = pair.key.mark?.line ?? line
                node = pair.value
            }
            while rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]"), let index = Int(rest[rest.index(after: rest.startIndex)..<close]) else { return line }
                rest = rest[rest.index(after: close)...]
                guard let sequence = node.sequence, index >= 0, index < sequence.count else { return line }
                node = sequence[index]
                line = node.mark?.line ?? line
            }
        }
        return line
    }

    public func keys(_ mapping: Node.Mapping, allowed: Set<String>, at path: String) throws {
        for key in mapping.keys {
            guard let name = key.string else { throw fail(path, "a key that is not a string") }
            guard allowed.contains(name) else {
                throw fail(path.isEmpty ? name : "\(path).\(name)", "unknown key (known here: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    public func string(_ mapping: Node.Mapping, _ key: String, at path: String) throws -> String? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.string, node.scalar != nil else { throw fail(join(path, key), "must be a string") }
        return value
    }

    public func int(_ mapping: Node.Mapping, _ key: String, at path: String, range: ClosedRange<Int>) throws -> Int? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.int else { throw fail(join(path, key), "must be a whole number") }
        guard range.contains(value) else { throw fail(join(path, key), "\(value) is outside \(range.lowerBound)–\(range.upperBound)") }
        return value
    }

    public func strings(_ mapping: Node.Mapping, _ key: String, at path: String) throws -> [String]? {
        guard let node = mapping[key] else { return nil }
        guard let sequence = node.sequence else { throw fail(join(path, key), "must be a list of strings") }
        return try sequence.enumerated().map { index, item in
            guard let value = item.string else { throw fail("\(join(path, key))[\(index)]", "must be a string") }
            return value
        }
    }

    public func bool(_ mapping: Node.Mapping, _ key: String, at path: String) throws -> Bool? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.bool else { throw fail(join(path, key), "must be true or false") }
        return value
    }

    public func mapping(_ mapping: Node.Mapping, _ key: String, at path: String) throws -> Node.Mapping? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.mapping else { throw fail(join(path, key), "must be a mapping") }
        return value
    }

    /// Throws, with the system's reason, unless the file named at `path` can be read.
    public func readable(_ file: String, at path: String) throws {
        do {
            try InputFile.checkReadable(file)
        } catch let error as InputFileError {
            throw fail(path, error.description)
        }
    }

    /// Throws unless the store at `storePath` can be opened for writing: its directory exists
    /// and this user may create files there (SQLite keeps its `-wal` and `-shm` files beside the
    /// store), and an existing store file is readable and writable.
    public func writableStore(_ storePath: String, at path: String) throws {
        let directory = (storePath as NSString).deletingLastPathComponent.isEmpty ? "." : (storePath as NSString).deletingLastPathComponent
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw fail(path, "the store's directory \(directory): \(String(cString: strerror(errno))) (create it, writable by the user the agent runs as)")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw fail(path, "\(directory) is not a directory") }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw fail(path, "this user cannot create files in the store's directory \(directory): \(String(cString: strerror(errno)))")
        }
        if FileManager.default.fileExists(atPath: storePath), access(storePath, R_OK | W_OK) != 0 {
            throw fail(path, "this user cannot write the store \(storePath): \(String(cString: strerror(errno)))")
        }
    }

    public func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
