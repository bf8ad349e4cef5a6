import DNSWire
import Foundation
import SIG0

/// The committed test vectors (see Vectors/README.md for which tool made each).
enum Vectors {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path(name)) else {
            throw SIG0KeyError("missing vector \(name)")
        }
        return Array(data)
    }

    static func key(_ name: String) throws -> BINDKeyFile { try BINDKeyFile.load(path: path(name)) }

    /// One row of captures.tsv.
    struct Capture {
        let file: String
        let keyFile: String
        let algorithm: UInt8
        let keyTag: UInt16
        let signer: String
        let inception: UInt32
        let expiration: UInt32
        let transport: String
    }

    static func captures() throws -> [Capture] {
        let text = String(decoding: try bytes("captures.tsv"), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: "\t").map(String.init)
            return Capture(
                file: f[0], keyFile: f[1], algorithm: UInt8(f[2])!, keyTag: UInt16(f[3])!, signer: f[4], inception: UInt32(f[5])!, expiration: UInt32(f[6])!,
                transport: f[7])
        }
    }

    /// The deterministic vectors of spec-digest §17.1–17.4.
    static let vectorInception: UInt32 = 1_767_225_300
    static let vectorExpiration: UInt32 = 1_767_225_900
}
