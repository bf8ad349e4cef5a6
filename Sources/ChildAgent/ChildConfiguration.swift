import DaemonSupport
import DNSWire
import Foundation
import SIG0
import Yams

/// The child agent's configuration: one YAML file with a `version` key, like the parent's
/// (contrib/delegsync-child.yaml documents every key with its default).
public struct ChildConfiguration: Sendable, Equatable {
    /// How `delegsync child publish-key` puts the KEY into the child zone.
    public enum Publish: Sendable, Equatable {
        /// RFC 2136 UPDATE with TSIG (BIND-format key file) to the child's primary.
        case rfc2136(tsigKeyFile: String?)
        /// Only print the record and the nsupdate text; the operator publishes it.
        case print
    }

    /// How `delegsync child watch` tells the parent about a change (RFC 9859 §3: the parent
    /// offers either scheme in its DSYNC records).
    public enum Scheme: String, Sendable, Equatable, CaseIterable {
        /// One SIG(0)-signed UPDATE with the difference (the DDNS draft): the parent answers
        /// whether it committed it.
        case update
        /// NOTIFY(CDS) and/or NOTIFY(CSYNC) (RFC 9859 §4): the parent scans the child's
        /// CDS/CDNSKEY (RFC 7344) and CSYNC (RFC 7477) and applies what it finds.
        case notify
        /// The UPDATE, then the NOTIFYs.
        case both

        /// Whether the signed UPDATE is sent.
        public var sendsUpdate: Bool { self != .notify }
        /// Whether NOTIFY(CDS/CSYNC) is sent.
        public var sendsNotify: Bool { self != .update }
    }

    public struct Child: Sendable, Equatable {
        public var name: DomainName
        /// The child zone's primary: where publish-key sends its UPDATE, the first server asked
        /// for the apex NS set, and (for `watch`) the source of NOTIFYs.
        public var primary: NameserverAddress
        /// The child's authoritative servers to read the apex from; empty = every address of
        /// every NS name (RFC 7477 §4.2's consistency rule: all of them must agree).
        public var servers: [NameserverAddress] = []
        public var publish: Publish = .rfc2136(tsigKeyFile: nil)
        /// The UPDATE receiver, when DSYNC discovery (RFC 9859 §4.1) is not to be used.
        public var target: NameserverAddress? = nil
        /// The receiver's own KEY (a `.key` file): replies not signed by it are not believed.
        public var receiverKeyFile: String? = nil
        /// The parent's authoritative servers, to read the current delegation (RD=0); empty =
        /// the parent zone's NS set through the resolver.
        public var parentServers: [NameserverAddress] = []
        /// TTL of the records the child asks for (the parent sets its own). Default 3600.
        public var ttl: UInt32 = 3600
        /// Algorithm of new keys. Default ED25519.
        public var algorithm: SIG0Algorithm = .ed25519
        /// How `watch` tells the parent about a change. Default update.
        public var scheme: Scheme = .update
    }

    public struct Watch: Sendable, Equatable {
        /// Where NOTIFY(SOA) from the child primary is accepted. Default 127.0.0.1:5399.
        public var listen: [NameserverAddress] = [NameserverAddress("127.0.0.1", port: 5399)]
        /// Seconds to wait after a NOTIFY for more before syncing. Default 5.
        public var debounce: Int = 5
        /// Seconds between syncs without a NOTIFY. Default 3600.
        public var interval: Int = 3600
    }

    public var version: Int
    /// SQLite file: the child's keys and their state at the parent, and the log of what was sent.
    public var storePath: String
    /// Where key pairs live, in BIND's file format.
    public var keyDirectory: String
    /// A recursive resolver for DSYNC discovery and the addresses of names outside the child.
    public var resolver: NameserverAddress?
    public var logLevel: String
    public var watch: Watch
    public var children: [Child]
    /// How DSYNC answers are validated (`dsync-validation`). Default none.
    public var dsyncValidation: DSYNCValidation = .none
    /// The file the `anchor` validation's trust anchor was read from (`trust-anchor-file`).
    public var trustAnchorFile: String? = nil

    public func child(named name: DomainName) -> Child? { children.first { $0.name == name } }
}

extension ChildConfiguration {
    public static func load(path: String) throws -> ChildConfiguration {
        try ChildConfiguration(reading: ConfigReader(path: path))
    }

    /// Parses YAML text; unknown keys, wrong types and missing required keys are errors naming
    /// their path (e.g. `children[0].primary.address`).
    public static func parse(_ text: String, file: String = "configuration") throws -> ChildConfiguration {
        try ChildConfiguration(reading: ConfigReader(file: file, text: text))
    }
}

struct ChildConfigReader {
    let reader: ConfigReader

    func fail(_ path: String, _ problem: String) -> ConfigurationError { reader.fail(path, problem) }

    func configuration(_ root: Node.Mapping) throws -> ChildConfiguration {
        try reader.keys(
            root, allowed: ["version", "store", "key-directory", "resolver", "log-level", "watch", "children", "dsync-validation", "trust-anchor-file"], at: "")
        guard let version = try reader.int(root, "version", at: "", range: 0...1000) else { throw fail("version", "missing (write version: 1)") }
        guard version == 1 else { throw fail("version", "version \(version) is not supported (this delegsync reads version 1)") }
        var storePath = "/var/lib/delegsync/child.sqlite"
        if let store = try reader.mapping(root, "store", at: "") {
            try reader.keys(store, allowed: ["path"], at: "store")
            storePath = try reader.string(store, "path", at: "store") ?? storePath
        }
        let keyDirectory = try reader.string(root, "key-directory", at: "") ?? "/var/lib/delegsync/keys"
        let resolver = try address(root, "resolver", at: "")
        let logLevel = try reader.string(root, "log-level", at: "") ?? "info"
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw fail("log-level", "\"\(logLevel)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        var watch = ChildConfiguration.Watch()
        if let node = try reader.mapping(root, "watch", at: "") {
            try reader.keys(node, allowed: ["listen", "debounce", "interval"], at: "watch")
            if node["listen"] != nil {
                watch.listen = try addresses(node, "listen", at: "watch", defaultPort: 5399)
                guard !watch.listen.isEmpty else { throw fail("watch.listen", "empty: list at least one {address, port} for NOTIFY") }
            }
            watch.debounce = try reader.int(node, "debounce", at: "watch", range: 0...3600) ?? watch.debounce
            watch.interval = try reader.int(node, "interval", at: "watch", range: 10...604_800) ?? watch.interval
        }
        guard let list = root["children"]?.sequence, !list.isEmpty else { throw fail("children", "missing or empty: list at least one child zone") }
        var children: [ChildConfiguration.Child] = []
        for (index, item) in list.enumerated() {
            let path = "children[\(index)]"
            guard let node = item.mapping else { throw fail(path, "must be a mapping") }
            let child = try self.child(node, at: path)
            guard !children.contains(where: { $0.name == child.name }) else { throw fail("\(path).name", "\(child.name) is listed twice") }
            children.append(child)
        }
        var configuration = ChildConfiguration(
            version: version, storePath: storePath, keyDirectory: keyDirectory, resolver: resolver, logLevel: logLevel, watch: watch, children: children)
        try dsyncValidation(root, into: &configuration)
        return configuration
    }

    /// `dsync-validation` and `trust-anchor-file`: an unreadable or malformed anchor is an error
    /// here, not at the first discovery.
    func dsyncValidation(_ root: Node.Mapping, into configuration: inout ChildConfiguration) throws {
        let file = try reader.string(root, "trust-anchor-file", at: "")
        switch try reader.string(root, "dsync-validation", at: "") ?? "none" {
        case "none":
            configuration.dsyncValidation = .none
        case "resolver-ad":
            guard configuration.resolver != nil else {
                throw fail("dsync-validation", "resolver-ad needs resolver: (the validating resolver whose AD bit is trusted)")
            }
            configuration.dsyncValidation = .resolverAD
        case "anchor":
            guard let file else {
                throw fail("dsync-validation", "anchor needs trust-anchor-file: (DS or DNSKEY records of the root or of a zone above the parent)")
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw fail("trust-anchor-file", "cannot read \(file)") }
            do {
                configuration.dsyncValidation = .anchor(try TrustAnchor(text: text))
            } catch {
                throw fail("trust-anchor-file", "\(file) is not a trust anchor (DS or DNSKEY records of one zone): \(error)")
            }
        case let other:
            throw fail("dsync-validation", "\"\(other)\" is not none, resolver-ad or anchor")
        }
        configuration.trustAnchorFile = file
    }

    func child(_ node: Node.Mapping, at path: String) throws -> ChildConfiguration.Child {
        try reader.keys(
            node, allowed: ["name", "primary", "servers", "publish", "target", "receiver-key", "parent-servers", "ttl", "algorithm", "scheme"], at: path)
        guard let text = try reader.string(node, "name", at: path) else { throw fail("\(path).name", "missing") }
        let name: DomainName
        do {
            name = try DomainName(text.hasSuffix(".") ? text : text + ".")
        } catch {
            throw fail("\(path).name", "\"\(text)\" is not a domain name: \(error)")
        }
        guard !name.isRoot else { throw fail("\(path).name", "the root has no parent") }
        guard let primary = try address(node, "primary", at: path) else { throw fail("\(path).primary", "missing: the child zone's primary {address, port}") }
        var child = ChildConfiguration.Child(name: name, primary: primary)
        if node["servers"] != nil { child.servers = try addresses(node, "servers", at: path, defaultPort: 53) }
        if node["parent-servers"] != nil { child.parentServers = try addresses(node, "parent-servers", at: path, defaultPort: 53) }
        child.target = try address(node, "target", at: path, defaultPort: 5302)
        if let publish = try reader.mapping(node, "publish", at: path) {
            let ppath = "\(path).publish"
            try reader.keys(publish, allowed: ["type", "tsig-key-file"], at: ppath)
            switch try reader.string(publish, "type", at: ppath) ?? "rfc2136" {
            case "rfc2136":
                let file = try reader.string(publish, "tsig-key-file", at: ppath)
                if let file { try reader.readable(file, at: "\(ppath).tsig-key-file") }
                child.publish = .rfc2136(tsigKeyFile: file)
            case "print":
                child.publish = .print
            case let other:
                throw fail("\(ppath).type", "unknown publish type \"\(other)\" (use rfc2136 or print)")
            }
        }
        if let file = try reader.string(node, "receiver-key", at: path) {
            try reader.readable(file, at: "\(path).receiver-key")
            child.receiverKeyFile = file
        }
        child.ttl = UInt32(try reader.int(node, "ttl", at: path, range: 0...604_800) ?? Int(child.ttl))
        if let text = try reader.string(node, "algorithm", at: path) {
            guard let algorithm = SIG0Algorithm(mnemonic: text), algorithm.isSupported else {
                throw fail("\(path).algorithm", "\"\(text)\" is not ED25519, ECDSAP256SHA256, ECDSAP384SHA384 or RSASHA256")
            }
            child.algorithm = algorithm
        }
        if let text = try reader.string(node, "scheme", at: path) {
            guard let scheme = ChildConfiguration.Scheme(rawValue: text) else {
                throw fail("\(path).scheme", "\"\(text)\" is not update, notify or both")
            }
            child.scheme = scheme
        }
        return child
    }

    /// `{address, port}`.
    func address(_ mapping: Node.Mapping, _ key: String, at path: String, defaultPort: Int = 53) throws -> NameserverAddress? {
        guard let node = try reader.mapping(mapping, key, at: path) else { return nil }
        return try address(node, at: reader.join(path, key), defaultPort: defaultPort)
    }

    func address(_ node: Node.Mapping, at path: String, defaultPort: Int) throws -> NameserverAddress {
        try reader.keys(node, allowed: ["address", "port"], at: path)
        guard let host = try reader.string(node, "address", at: path) else { throw fail("\(path).address", "missing") }
        guard IPAddressText.isValid(host) else { throw fail("\(path).address", "\"\(host)\" is not an IPv4 or IPv6 address") }
        return NameserverAddress(host, port: try reader.int(node, "port", at: path, range: 1...65535) ?? defaultPort)
    }

    /// A list of `{address, port}`.
    func addresses(_ mapping: Node.Mapping, _ key: String, at path: String, defaultPort: Int) throws -> [NameserverAddress] {
        let lpath = reader.join(path, key)
        guard let list = mapping[key]?.sequence else { throw fail(lpath, "must be a list of {address, port}") }
        return try list.enumerated().map { index, item in
            guard let node = item.mapping else { throw fail("\(lpath)[\(index)]", "must be a mapping with address and port") }
            return try address(node, at: "\(lpath)[\(index)]", defaultPort: defaultPort)
        }
    }
}
