import Backends
import DNSWire
import DaemonSupport
import SIG0

extension AgentConfiguration {
    /// The configuration of a document already read (``ConfigReader/init(path:)``).
    public init(reading reader: ConfigReader) throws {
        self = try reader.configuration(reader.document)
    }

    /// The questions `check-config --online` asks, with the key path each is about: every
    /// zone's primary must answer for the zone; an rfc2136 backend with a TSIG key must take
    /// that key (a signed SOA query to the backend's server).
    public func primaryChecks() throws -> [(path: String, check: PrimarySOACheck)] {
        var checks: [(path: String, check: PrimarySOACheck)] = []
        for (index, zone) in zones.enumerated() {
            checks.append(("zones[\(index)].primary", PrimarySOACheck(zone: zone.name, server: zone.primaryAddress, port: zone.primaryPort, key: nil)))
            if zone.backend.kind == .rfc2136, let file = zone.backend.tsigKeyFile {
                let check = PrimarySOACheck(
                    zone: zone.name, server: zone.backend.server ?? zone.primaryAddress, port: zone.backend.port ?? zone.primaryPort,
                    key: try TSIGKey.load(path: file))
                checks.append(("zones[\(index)].backend", check))
            }
        }
        return checks
    }
}

extension ConfigReader {
    /// What `check-config` checks beyond the values themselves: a SQLite store can be written
    /// (a PostgreSQL store is the database's business), and the identity key pair and the TSIG
    /// key files load as `serve` loads them.
    public func checkFiles(_ configuration: AgentConfiguration) throws {
        if configuration.store.kind == .sqlite { try writableStore(configuration.storePath, at: "store.path") }
        if let file = configuration.identityKeyFile {
            do {
                _ = try BINDKeyFile.load(path: file, requirePrivate: true)
            } catch {
                throw fail("identity.key-file", "\(error)")
            }
        }
        for (index, zone) in configuration.zones.enumerated() {
            guard let file = zone.backend.tsigKeyFile else { continue }
            do {
                _ = try TSIGKey.load(path: file)
            } catch {
                throw fail("zones[\(index)].backend.tsig-key-file", "\(error)")
            }
        }
    }
}
