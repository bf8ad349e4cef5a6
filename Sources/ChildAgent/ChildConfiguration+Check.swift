import Backends
import DNSWire
import DaemonSupport
import SIG0

extension ChildConfiguration {
    /// The configuration of a document already read (``ConfigReader/init(path:)``).
    public init(reading reader: ConfigReader) throws {
        self = try ChildConfigReader(reader: reader).configuration(reader.document)
    }

    /// The questions `check-config --online` asks, with the key path each is about: every
    /// child's primary must answer for the child zone, signed with the TSIG key `publish-key`
    /// uses when there is one.
    public func primaryChecks() throws -> [(path: String, check: PrimarySOACheck)] {
        try children.enumerated().map { index, child in
            var key: TSIGKey? = nil
            if case .rfc2136(let file?) = child.publish { key = try TSIGKey.load(path: file) }
            return ("children[\(index)].primary", PrimarySOACheck(zone: child.name, server: child.primary.host, port: child.primary.port, key: key))
        }
    }
}

extension ConfigReader {
    /// What `check-config` checks beyond the values themselves: the store can be written, the
    /// receiver's key and the TSIG key files load, and so does every key pair of each child in
    /// the key directory.
    public func checkFiles(_ configuration: ChildConfiguration) throws {
        try writableStore(configuration.storePath, at: "store.path")
        for (index, child) in configuration.children.enumerated() {
            let path = "children[\(index)]"
            if let file = child.receiverKeyFile {
                do {
                    _ = try BINDKeyFile.load(path: file)
                } catch {
                    throw fail("\(path).receiver-key", "\(error)")
                }
            }
            if case .rfc2136(let file?) = child.publish {
                do {
                    _ = try TSIGKey.load(path: file)
                } catch {
                    throw fail("\(path).publish.tsig-key-file", "\(error)")
                }
            }
            do {
                _ = try ChildKeyRing(directory: configuration.keyDirectory).keys(of: child.name)
            } catch {
                throw fail("key-directory", "a key pair of \(child.name): \(error)")
            }
        }
    }
}
