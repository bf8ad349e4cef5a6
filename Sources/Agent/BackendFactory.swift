import Backends
import DaemonSupport
import DNSWire
import Foundation

/// Builds the backend a zone's configuration names.
public enum BackendFactory {
    public static func make(_ zone: AgentConfiguration.Zone) throws -> any DelegationBackend {
        let backend = zone.backend
        let server = backend.server ?? zone.primaryAddress
        let port = backend.port ?? zone.primaryPort
        switch backend.kind {
        case .rfc2136:
            var key: TSIGKey? = nil
            if let path = backend.tsigKeyFile { key = try TSIGKey.load(path: path) }
            return RFC2136Backend(server: server, port: port, key: key)
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
