import Backends
import DaemonSupport
import DNSWire
import Foundation
import Transport

/// Builds the backend a zone's configuration names.
public enum BackendFactory {
    /// `connections`: where the RFC 2136 backend finds its persistent connection to the
    /// primary (the agent passes the pool its zone reader uses); `nil`, one per UPDATE.
    public static func make(_ zone: AgentConfiguration.Zone, connections: DNSConnectionPool? = nil) throws -> any DelegationBackend {
        let backend = zone.backend
        let server = backend.server ?? zone.primaryAddress
        let port = backend.port ?? zone.primaryPort
        switch backend.kind {
        case .rfc2136:
            var key: TSIGKey? = nil
            if let path = backend.tsigKeyFile { key = try TSIGKey.load(path: path) }
            return RFC2136Backend(server: server, port: port, key: key, connection: connections?.connection(host: server, port: port))
        case .nsupdate:
            return NSUpdateBackend(command: backend.command ?? [], server: server, port: port)
        case .nsd:
            return NSDBackend(
                zone: zone.name, zoneFile: backend.zoneFile ?? "", fragmentFile: backend.fragmentFile ?? "",
                controlConfig: backend.nsdControlConfig ?? "", server: zone.primaryAddress, port: zone.primaryPort)
        case .script:
            return ScriptBackend(command: backend.command, outputPath: backend.output)
        }
    }
}
