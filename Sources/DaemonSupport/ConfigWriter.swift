import Yams

/// Writes a configuration back as YAML — what `delegsync check-config --print` shows: the
/// effective configuration, every default filled in, in the order of the commented samples.
/// ``ConfigReader`` reads the result back to the same configuration.
public enum ConfigWriter {
    /// A mapping with keys in the given order; keys whose value is nil (unset, no default) are
    /// left out.
    public static func mapping(_ pairs: [(String, Node?)]) -> Node {
        .mapping(Node.Mapping(pairs.compactMap { key, value in value.map { (Node(key), $0) } }, .implicit, .block))
    }

    /// A number, a flag or a name, written plain.
    public static func scalar(_ value: some CustomStringConvertible) -> Node {
        Node(value.description)
    }

    /// A string (a path, a command's argument): plain where YAML reads it back as a string,
    /// quoted where it would read as a number, a boolean or null (`'yes'`, `'0755'`).
    public static func string(_ value: String) -> Node {
        let plain = Node(value)
        guard plain.int != nil || plain.float != nil || plain.bool != nil || plain.null != nil else { return plain }
        return Node(value, .implicit, .singleQuoted)
    }

    /// `address` and `port`, as every listen, primary and resolver entry has them.
    public static func endpoint(_ address: String, _ port: Int) -> Node {
        mapping([("address", string(address)), ("port", scalar(port))])
    }

    /// A list of scalars, written in flow style (`[unsigned, manual]`).
    public static func strings(_ values: [String]) -> Node {
        .sequence(Node.Sequence(values.map(string), .implicit, .flow))
    }

    /// A list of mappings, written in block style.
    public static func list(_ items: [Node]) -> Node {
        .sequence(Node.Sequence(items, .implicit, items.isEmpty ? .flow : .block))
    }

    /// The YAML text of `root`, after `header` (comment lines, each starting `# `).
    public static func text(_ root: Node, header: [String]) throws -> String {
        header.map { "# \($0)\n" }.joined() + (try Yams.serialize(node: root, indent: 2, width: -1, allowUnicode: true))
    }
}
