import Foundation
import LocalFiles

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading and writing DNS messages for the CLI: binary wire format or hexadecimal text, a
/// path or `-` for stdin/stdout. Errors name the file and the system's reason.
enum MessageFile {
    /// A DNS message is at most 65535 octets (RFC 1035 §4.2.2); hex text with white space
    /// takes a few times that. Anything larger is the wrong file, not a message.
    static let maximumSize = 4 * 65_536

    /// The bytes of `path` (`-` for stdin); with `hex`, the file holds hexadecimal text, white
    /// space ignored.
    static func read(_ path: String, hex: Bool) throws -> [UInt8] {
        let contents = try read(path)
        guard hex else { return contents }
        guard let bytes = [UInt8](hex: String(decoding: contents, as: UTF8.self)) else {
            throw UsageFailure("\(InputFileError.display(path)) is not hexadecimal text (without --hex it is read as binary)")
        }
        return bytes
    }

    /// Writes `bytes` to `path`, or to stdout when `path` is nil; with `hex`, as one line of
    /// hexadecimal text.
    static func write(_ bytes: [UInt8], to path: String?, hex: Bool) throws {
        let contents = hex ? Array((bytes.hexString + "\n").utf8) : bytes
        guard let path, path != "-" else {
            if !hex && isatty(STDOUT_FILENO) != 0 {
                throw UsageFailure("not writing a binary message to a terminal: use --output FILE or --hex")
            }
            try write(contents, to: STDOUT_FILENO, name: "stdout")
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw UsageFailure("cannot write \(path): \(systemError())") }
        defer { close(fd) }
        try write(contents, to: fd, name: path)
    }

    /// Now, or `--at`, as the 32-bit seconds SIG(0) uses (RFC 2931 §3.3, serial arithmetic).
    /// The CLI is the edge where the clock is read; SIG0 takes the time as a parameter.
    static func time(_ at: UInt32?) -> UInt32 {
        at ?? UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
    }

    private static func read(_ path: String) throws -> [UInt8] {
        do {
            return try InputFile.bytes(path, limit: maximumSize)
        } catch let error as InputFileError {
            throw UsageFailure(error.description)
        }
    }

    private static func write(_ contents: [UInt8], to fd: Int32, name: String) throws {
        var offset = 0
        while offset < contents.count {
            let count = contents[offset...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw UsageFailure("cannot write \(name): \(systemError())")
            }
            offset += count
        }
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}

// write(2) under a name that MessageFile's own `write` does not hide.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
