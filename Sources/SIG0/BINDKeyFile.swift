import DNSWire
import Foundation
import LocalFiles

#if canImport(Glibc)
    import Glibc
#endif

/// A SIG(0) key pair in BIND's file format: `K<name>+<alg>+<tag>.key` holds the KEY record,
/// `K<name>+<alg>+<tag>.private` the private key (Private-key-format v1.3), as written by
/// `dnssec-keygen -T KEY -n HOST` and read by `nsupdate -k`.
public struct BINDKeyFile: Sendable {
    /// The KEY record as published (owner, flags and algorithm from the `.key` file).
    public let record: Record
    public let keyData: KEYData
    /// Present when the `.private` file was read or the key was generated.
    public let privateKey: SIG0PrivateKey?

    public var owner: DomainName { record.name }
    public var algorithm: SIG0Algorithm { SIG0Algorithm(keyData.algorithm) }
    public var keyTag: UInt16 { keyData.keyTag }

    /// `K<name>+<alg>+<tag>`, the base name BIND gives both files (name lower-cased, as
    /// `dnssec-keygen` does).
    public var baseName: String {
        let name = owner.lowercased.description
        let alg = String(keyData.algorithm)
        let tag = String(keyTag)
        return "K\(name)+\(String(repeating: "0", count: max(0, 3 - alg.count)))\(alg)+\(String(repeating: "0", count: max(0, 5 - tag.count)))\(tag)"
    }

    public init(record: Record, privateKey: SIG0PrivateKey?) throws {
        guard record.type == .key else { throw SIG0KeyError("\(record.name) \(record.type) is not a KEY record") }
        self.record = record
        self.keyData = try KEYData(rdata: record.rdata)
        self.privateKey = privateKey
    }

    /// A new key for `owner`. Flags 512 (host key) as `dnssec-keygen -T KEY -n HOST` writes
    /// them; RFC 3445 §3 would have 0 or 256, and receivers accept all three.
    public static func generate(owner: DomainName, algorithm: SIG0Algorithm = .ed25519, flags: UInt16 = 512, ttl: UInt32 = 3600) throws -> BINDKeyFile {
        let key = try SIG0PrivateKey.generate(algorithm)
        let data = KEYData(flags: flags, algorithm: algorithm.rawValue, publicKey: key.publicKey)
        return try BINDKeyFile(record: Record(name: owner, type: .key, ttl: ttl, rdata: data.rdata), privateKey: key)
    }

    // MARK: Reading

    /// Reads a key from the path given, never from another one: a `….key` file (the public
    /// half), a `….private` file (both halves, the `.key` file beside it), or a base name
    /// `K<name>+<alg>+<tag>` that is not itself a file (its `.key` and `.private` files). The
    /// private half is read when the path names the `.private` file or `requirePrivate` is set.
    /// Any other file is read as the public half. Errors name the file that was read or tried.
    public static func load(path: String, requirePrivate: Bool = false) throws -> BINDKeyFile {
        let files = try names(path)
        let record = try parseKeyFile(try readText(files.key), path: files.key)
        // A `.key` path means the public key alone (a broken or unreadable `.private` next to it
        // must not stop a verification); a `.private` path, or requirePrivate, means both.
        guard requirePrivate || files.privateNamed else {
            return try BINDKeyFile(record: record, privateKey: nil)
        }
        guard let privatePath = files.private else {
            throw SIG0KeyError("\(path): a private key is needed: name the key's .private file (BIND writes K<name>+<alg>+<tag>.private)")
        }
        let keyData = try KEYData(rdata: record.rdata)
        let (algorithm, fields) = try parsePrivateFile(try readText(privatePath), path: privatePath)
        guard algorithm.rawValue == keyData.algorithm else {
            throw SIG0KeyError("\(privatePath): algorithm \(algorithm.rawValue) but the .key file says \(keyData.algorithm)")
        }
        do {
            let privateKey = try SIG0PrivateKey(algorithm: algorithm, bindFields: fields, publicKey: keyData.publicKey)
            return try BINDKeyFile(record: record, privateKey: privateKey)
        } catch let error as SIG0KeyError {
            throw SIG0KeyError("\(privatePath): \(error.description)")
        }
    }

    /// The files `path` names: the public key file, the private key file (nil when the path
    /// names neither kind), and whether the path itself named the private one.
    static func names(_ path: String) throws -> (key: String, private: String?, privateNamed: Bool) {
        if path.hasSuffix(".private") { return (String(path.dropLast(8)) + ".key", path, true) }
        if path.hasSuffix(".key") { return (path, String(path.dropLast(4)) + ".private", false) }
        if FileManager.default.fileExists(atPath: path) { return (path, nil, false) }
        // A base name as BIND prints it (`Kchild.parent.+015+12345`): both of its files.
        if FileManager.default.fileExists(atPath: path + ".key") { return (path + ".key", path + ".private", false) }
        throw SIG0KeyError("cannot read \(path): \(String(cString: strerror(ENOENT))) (nor \(path).key, if it is a base name)")
    }

    static func readText(_ path: String) throws -> String {
        do {
            return try InputFile.text(path)
        } catch {
            throw SIG0KeyError("\(error)")
        }
    }

    /// The KEY record of a `.key` file: comment lines (`;`) and blank lines are skipped; the
    /// base64 key may be split over several fields.
    public static func parseKeyFile(_ text: String, path: String = ".key file") throws -> Record {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix(";") }
        guard lines.count == 1, let line = lines.first else {
            throw SIG0KeyError("\(path): want exactly one KEY record, found \(lines.count) lines")
        }
        let record: Record
        do {
            record = try Record(line)
        } catch {
            throw SIG0KeyError("\(path): \(error)")
        }
        guard record.type == .key else { throw SIG0KeyError("\(path): the record is \(record.type), not KEY") }
        return record
    }

    /// The algorithm and base64-decoded fields of a `.private` file (v1.2 or v1.3).
    public static func parsePrivateFile(_ text: String, path: String = ".private file") throws -> (SIG0Algorithm, [String: [UInt8]]) {
        var fields: [String: [UInt8]] = [:]
        var algorithm: SIG0Algorithm? = nil
        var format: String? = nil
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "Private-key-format": format = value
            case "Algorithm":
                guard let number = value.split(separator: " ").first.flatMap({ UInt8($0) }) else {
                    throw SIG0KeyError("\(path): cannot read \"Algorithm: \(value)\"")
                }
                algorithm = SIG0Algorithm(number)
            case "Created", "Publish", "Activate", "Inactive", "Delete", "Revoke", "SyncPublish", "SyncDelete":
                continue
            default:
                guard let data = Data(base64Encoded: value) else {
                    throw SIG0KeyError("\(path): \(key) is not base64")
                }
                fields[key] = Array(data)
            }
        }
        guard let format, format.hasPrefix("v1.") else { throw SIG0KeyError("\(path): not a BIND private key file (no Private-key-format: v1.x)") }
        guard let algorithm else { throw SIG0KeyError("\(path): no Algorithm line") }
        return (algorithm, fields)
    }

    // MARK: Writing

    /// The `.key` file's text.
    public var keyFileText: String {
        "; This is a SIG(0) key for \(owner), keyid \(keyTag), made by delegsync.\n"
            + "\(owner) IN KEY \(keyData.flags) \(keyData.protocol) \(keyData.algorithm) \(Data(keyData.publicKey).base64EncodedString())\n"
    }

    /// The `.private` file's text (BIND Private-key-format v1.3).
    public func privateFileText(created: Date) throws -> String {
        guard let privateKey else { throw SIG0KeyError("no private key to write") }
        let stamp = Self.timestamp(created)
        var lines = ["Private-key-format: v1.3", "Algorithm: \(keyData.algorithm) (\(algorithm))"]
        for (name, value) in try privateKey.bindPrivateFields() {
            lines.append("\(name): \(Data(value).base64EncodedString())")
        }
        lines += ["Created: \(stamp)", "Publish: \(stamp)", "Activate: \(stamp)"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes both files into `directory` (the `.private` one readable by its owner only) and
    /// returns the base path. Existing files are not overwritten.
    @discardableResult
    public func write(to directory: String, created: Date) throws -> String {
        let base = (directory as NSString).appendingPathComponent(baseName)
        let privateText = try privateFileText(created: created)
        // O_EXCL: never replace a file; the private key is created 0600 from the start, so it is
        // never readable by others, not even for a moment.
        try Self.create(base + ".private", text: privateText, mode: 0o600)
        do {
            try Self.create(base + ".key", text: keyFileText, mode: 0o644)
        } catch {
            unlink(base + ".private")
            throw error
        }
        return base
    }

    static func create(_ path: String, text: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw SIG0KeyError(errno == EEXIST ? "\(path) exists already" : "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        // The umask may have narrowed the mode; set exactly what was asked for.
        fchmod(fd, mode)
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                unlink(path)
                throw SIG0KeyError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            written += n
        }
        // On disk before anyone is told the key exists (a crash must not leave an empty key).
        guard fsync(fd) == 0 else {
            unlink(path)
            throw SIG0KeyError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        return formatter.string(from: date)
    }
}
