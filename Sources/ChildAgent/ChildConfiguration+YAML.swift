import DaemonSupport
import Yams

extension ChildConfiguration {
    /// The effective configuration as YAML, every default written out (`delegsync check-config
    /// --print`), in the order of contrib/delegsync-child.yaml. Keys that are unset and have no
    /// default (resolver, target, receiver-key…) are left out. Parsing the text gives this
    /// configuration again.
    public func yaml(header: [String] = []) throws -> String {
        typealias W = ConfigWriter
        let root = W.mapping([
            ("version", W.scalar(version)),
            ("store", W.mapping([("path", W.string(storePath))])),
            ("key-directory", W.string(keyDirectory)),
            ("resolver", resolver.map { W.endpoint($0.host, $0.port) }),
            ("dsync-validation", W.scalar(dsyncValidation.description)),
            ("trust-anchor-file", trustAnchorFile.map { W.string($0) }),
            ("log-level", W.scalar(logLevel)),
            (
                "watch",
                W.mapping([
                    ("listen", W.list(watch.listen.map { W.endpoint($0.host, $0.port) })),
                    ("debounce", W.scalar(watch.debounce)),
                    ("interval", W.scalar(watch.interval)),
                ])
            ),
            ("children", W.list(children.map(\.yamlNode))),
        ])
        return try ConfigWriter.text(root, header: header)
    }
}

extension ChildConfiguration.Child {
    var yamlNode: Node {
        typealias W = ConfigWriter
        let publish: Node
        switch self.publish {
        case .rfc2136(let keyFile):
            publish = W.mapping([("type", W.scalar("rfc2136")), ("tsig-key-file", keyFile.map { W.string($0) })])
        case .print:
            publish = W.mapping([("type", W.scalar("print"))])
        }
        return W.mapping([
            ("name", W.scalar(name)),
            ("primary", W.endpoint(primary.host, primary.port)),
            ("servers", W.list(servers.map { W.endpoint($0.host, $0.port) })),
            ("publish", publish),
            ("target", target.map { W.endpoint($0.host, $0.port) }),
            ("receiver-key", receiverKeyFile.map { W.string($0) }),
            ("parent-servers", W.list(parentServers.map { W.endpoint($0.host, $0.port) })),
            ("ttl", W.scalar(ttl)),
            ("algorithm", W.scalar(algorithm.mnemonic ?? String(algorithm.rawValue))),
            ("scheme", W.scalar(scheme.rawValue)),
        ])
    }
}
