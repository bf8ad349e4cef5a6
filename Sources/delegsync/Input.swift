import DNSWire
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reading messages and writing output for the CLI.
enum Input {
    /// Bytes of `path` (`-` for stdin); with `hex`, the file holds hexadecimal text.
    static func message(_ path: String, hex: Bool) throws -> [UInt8] {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw UsageFailure("cannot read \(path)")
            }
            data = contents
        }
        guard hex else { return Array(data) }
        let text = String(decoding: data, as: UTF8.self)
        guard let bytes = [UInt8](hex: text) else { throw UsageFailure("\(path) is not hexadecimal text") }
        return bytes
    }

    /// Now, or `--at`, as the 32-bit seconds SIG(0) uses (RFC 2931 §3.3, serial arithmetic).
    static func time(_ at: UInt32?) -> UInt32 {
        at ?? UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
