/// Renders an ``Update`` as input for BIND's `nsupdate` and Knot's `knsupdate` (both read the
/// same commands: `server`, `zone`, `prereq …`, `update add|delete …`, `send`).
///
/// Types a server may not know by name (DSYNC for Knot 3.2 and ldns) are written in the RFC 3597
/// generic form, which both tools accept. An update with no changes renders as empty text, so a
/// caller piping it on never sends an empty UPDATE.
public struct NSUpdateScript: Sendable {
    public var update: Update
    /// `server ADDRESS [PORT]` line, when the caller wants one.
    public var server: (address: String, port: UInt16?)?

    public init(update: Update, server: (address: String, port: UInt16?)? = nil) {
        self.update = update
        self.server = server
    }

    /// Types written in the RFC 3597 form: unknown to knsupdate 3.2 or ldns 1.8.
    static let genericTypes: Set<RRType> = [.dsync]

    static func data(_ record: Record) -> (type: String, rdata: String) {
        if genericTypes.contains(record.type) || RRType.byValue[record.type.rawValue] == nil {
            let hex = record.rdata.hexString.uppercased()
            return ("TYPE\(record.type.rawValue)", record.rdata.isEmpty ? "\\# 0" : "\\# \(record.rdata.count) \(hex)")
        }
        return (record.type.description, record.rdataPresentation)
    }

    static func typeName(_ type: RRType) -> String {
        genericTypes.contains(type) ? "TYPE\(type.rawValue)" : type.description
    }

    /// The script text, ending in `send` and a newline; empty when there is nothing to change.
    public var text: String {
        guard !update.operations.isEmpty else { return "" }
        var lines: [String] = []
        if let server {
            lines.append("server \(server.address)" + (server.port.map { " \($0)" } ?? ""))
        }
        lines.append("zone \(update.zone)")
        let zoneClass = update.zoneClass
        for prerequisite in update.prerequisites {
            switch prerequisite {
            case .nameNotInUse(let n): lines.append("prereq nxdomain \(n)")
            case .nameInUse(let n): lines.append("prereq yxdomain \(n)")
            case .rrsetDoesNotExist(let n, let t): lines.append("prereq nxrrset \(n) \(zoneClass) \(Self.typeName(t))")
            case .rrsetExists(let n, let t): lines.append("prereq yxrrset \(n) \(zoneClass) \(Self.typeName(t))")
            case .rrsetEquals(let r):
                let (type, rdata) = Self.data(r)
                lines.append("prereq yxrrset \(r.name) \(zoneClass) \(type) \(rdata)")
            }
        }
        for operation in update.operations {
            switch operation {
            case .add(let r):
                let (type, rdata) = Self.data(r)
                lines.append("update add \(r.name) \(r.ttl) \(zoneClass) \(type) \(rdata)")
            case .deleteRRset(let n, let t):
                lines.append("update delete \(n) \(zoneClass) \(Self.typeName(t))")
            case .deleteName(let n):
                lines.append("update delete \(n)")
            case .delete(let r):
                let (type, rdata) = Self.data(r)
                lines.append("update delete \(r.name) \(zoneClass) \(type) \(rdata)")
            }
        }
        lines.append("send")
        return lines.joined(separator: "\n") + "\n"
    }
}
