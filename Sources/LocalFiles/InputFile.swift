import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading the files an operator names — configurations, key files, messages — with errors that
/// say why in the system's words (`cannot read FILE: No such file or directory`) and that never
/// echo what the file holds: a binary file given where text belongs is described by where its
/// binary data starts, not printed.
///
/// Every command and daemon reads its input files through here, so the same mistake gets the
/// same message everywhere.
public enum InputFile {
    /// Files larger than this are refused unless the caller asks for another bound.
    public static let defaultLimit = 1 << 20

    /// The bytes of `path` (`-` reads stdin), at most `limit` of them.
    public static func bytes(_ path: String, limit: Int = defaultLimit) throws -> [UInt8] {
        let (contents, complete) = try contents(of: path, limit: limit)
        guard complete else { throw InputFileError(path: path, problem: "is over \(limit) octets") }
        return contents
    }

    /// The text of `path` (`-` reads stdin): UTF-8 without NUL or other control characters
    /// than tab, line feed and carriage return. Anything else is refused as binary, naming the
    /// offset (from 0) of the first such byte.
    public static func text(_ path: String, limit: Int = defaultLimit) throws -> String {
        let (contents, complete) = try contents(of: path, limit: limit)
        // A large binary file (an executable given as configuration) is binary first; in a cut
        // file the last three bytes may be part of a character that goes on.
        if let offset = firstBinaryByte(contents), complete || offset < contents.count - 3 {
            throw InputFileError(path: path, problem: "is not a text file (binary data at byte \(offset))")
        }
        guard complete else { throw InputFileError(path: path, problem: "is over \(limit) octets") }
        return String(decoding: contents, as: UTF8.self)
    }

    /// Up to `limit` + 1 bytes of `path`, and whether that was all of it.
    static func contents(of path: String, limit: Int) throws -> (bytes: [UInt8], complete: Bool) {
        let fd = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InputFileError(path: path, reason: errno) }
        defer { if fd != STDIN_FILENO { close(fd) } }
        var contents: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while contents.count <= limit {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, limit + 1 - contents.count)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw InputFileError(path: path, reason: errno)
            }
            if count == 0 { return (contents, true) }
            contents += buffer[..<count]
        }
        return (contents, false)
    }

    /// The offset of the first byte that is not part of text (see ``text(_:limit:)``), or nil.
    public static func firstBinaryByte(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                if (byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D) || byte == 0x7F { return index }
                index += 1
                continue
            }
            guard let length = utf8SequenceLength(bytes, at: index) else { return index }
            index += length
        }
        return nil
    }

    /// Throws, saying why, unless `path` is a file this process can open for reading.
    public static func checkReadable(_ path: String) throws {
        // Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw InputFileError(path: path, reason: errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw InputFileError(path: path, reason: errno) }
        if status.st_mode & S_IFMT == S_IFDIR { throw InputFileError(path: path, reason: EISDIR) }
    }

    /// The length of the well-formed UTF-8 sequence (RFC 3629 §4) starting at `index`, or nil.
    static func utf8SequenceLength(_ bytes: [UInt8], at index: Int) -> Int? {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: (length, low) = (3, 0xA0)
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: (length, high) = (3, 0x9F)
        case 0xF0: (length, low) = (4, 0x90)
        case 0xF1...0xF3: length = 4
        case 0xF4: (length, high) = (4, 0x8F)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            let (min, max) = offset == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
            guard byte >= min, byte <= max else { return nil }
        }
        return length
    }
}

/// A file named by the operator that cannot be used: its path and why.
public struct InputFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    /// What is wrong, after the path: `is not a text file (binary data at byte 12)`.
    public let problem: String
    public let description: String

    /// The file's contents are unusable: "`path` `problem`".
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
        self.description = "\(Self.display(path)) \(problem)"
    }

    /// The system refused: "cannot read `path`: `strerror(code)`".
    public init(path: String, reason code: Int32) {
        self.path = path
        self.problem = String(cString: strerror(code))
        self.description = "cannot read \(Self.display(path)): \(problem)"
    }

    /// `-` is stdin.
    public static func display(_ path: String) -> String { path == "-" ? "stdin" : path }
}
