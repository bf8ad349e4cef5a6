import DNSWire
import Foundation
import SIG0

/// The child's SIG(0) key pairs in the key directory, in BIND's file format
/// (`K<child>+<alg>+<tag>.key` and `.private`), so `dnssec-keygen -T KEY -n HOST` keys and
/// `nsupdate -k` work with them too.
public struct ChildKeyRing: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// A new key pair for `child`, written to the directory (the private file 0600).
    public func generate(child: DomainName, algorithm: SIG0Algorithm) throws -> BINDKeyFile {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = try BINDKeyFile.generate(owner: child, algorithm: algorithm)
        _ = try key.write(to: directory, created: Date())
        return key
    }

    /// Every key pair of `child` in the directory, oldest file first (a `.key` without its
    /// `.private` is skipped: it cannot sign).
    public func keys(of child: DomainName) throws -> [BINDKeyFile] {
        let prefix = "k" + child.description.lowercased()
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let bases = files.filter { $0.lowercased().hasPrefix(prefix + "+") && $0.hasSuffix(".private") }.map { String($0.dropLast(8)) }
        let dated = bases.map { base -> (String, Date) in
            let attributes = try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(base).private")
            return (base, attributes?[.modificationDate] as? Date ?? .distantPast)
        }
        return try dated.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map { try BINDKeyFile.load(path: "\(directory)/\($0.0).private", requirePrivate: true) }
    }

    /// Moves a key pair out of use (into `retired/`), so it is never offered again.
    public func retire(_ key: BINDKeyFile) throws {
        let retired = "\(directory)/retired"
        try FileManager.default.createDirectory(atPath: retired, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for suffix in [".key", ".private"] {
            let from = "\(directory)/\(key.baseName)\(suffix)"
            let to = "\(retired)/\(key.baseName)\(suffix)"
            try? FileManager.default.removeItem(atPath: to)
            if FileManager.default.fileExists(atPath: from) { try FileManager.default.moveItem(atPath: from, toPath: to) }
        }
    }
}
