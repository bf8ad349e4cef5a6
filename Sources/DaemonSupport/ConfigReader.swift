import Foundation
import Yams

/// A configuration problem: the file, the key path, and what to fix.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public let file: String
    public let key: String
    public let problem: String

    public init(file: String, key: String, problem: String) {
        self.file = file
        self.key = key
        self.problem = problem
    }

    public var description: String { key.isEmpty ? "\(file): \(problem)" : "\(file): \(key): \(problem)" }
}

/// Walks the YAML tree with the schema, so errors carry the exact key path. Shared by the
/// parent's and the child's configuration files.
public struct ConfigReader {
    public let file: String

    public init(file: String) { self.file = file }

    /// The file's text, or an error naming it.
    public static func contents(of path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, key: "", problem: "cannot read the file")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The top-level mapping of YAML text.
    public func root(_ text: String) throws -> Node.Mapping {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw fail("", "not valid YAML: \(error)")
        }
        guard let root = node?.mapping else { throw fail("", "the top level must be a mapping with a version key") }
        return root
    }

    public func fail(_ path: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, key: path, problem: problem)
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

    public func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
