import DaemonSupport
import Store
import Yams

extension ConfigReader {
    /// The `store` section: SQLite by default (`path`), or PostgreSQL (`type: postgresql`, `url`)
    /// for several agents sharing one database; `lease` and `connections` tune the sharing.
    func storeLocation(_ root: Node.Mapping) throws -> StoreLocation {
        var location = StoreLocation()
        guard let node = try mapping(root, "store", at: "") else { return location }
        try keys(node, allowed: ["type", "path", "url", "lease", "connections"], at: "store")
        if let text = try string(node, "type", at: "store") {
            guard let kind = StoreLocation.Kind(rawValue: text) else {
                throw fail("store.type", "\"\(text)\" is not one of \(StoreLocation.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            location.kind = kind
        }
        location.path = try string(node, "path", at: "store") ?? location.path
        location.url = try string(node, "url", at: "store")
        location.lease = Int64(try int(node, "lease", at: "store", range: 5...3600) ?? Int(location.lease))
        location.connections = try int(node, "connections", at: "store", range: 1...256) ?? location.connections
        switch location.kind {
        case .sqlite:
            guard location.url == nil else { throw fail("store.url", "is for type: postgresql; the SQLite store takes path") }
        case .postgresql:
            guard let url = location.url else { throw fail("store.url", "missing: type postgresql needs url: postgres://USER@HOST:PORT/DATABASE") }
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw fail("store.url", "\"\(url)\" is not a postgres:// URL (postgres://USER@HOST:PORT/DATABASE)")
            }
            guard node["path"] == nil else { throw fail("store.path", "is for the SQLite store; type postgresql takes url") }
        }
        return location
    }
}
