import DNSWire
import LocalFiles

extension TSIGKey {
    /// Reads the first key of a BIND key file (`tsig-keygen NAME` output, RFC 8945 keys) named
    /// by a configuration. Errors name the file and say why: the system's reason, binary data,
    /// or what in the text is not a key.
    public static func load(path: String) throws -> TSIGKey {
        let text = try InputFile.text(path)
        do {
            return try TSIGKey(bindKeyFile: text)
        } catch {
            throw InputFileError(path: path, problem: "is not a TSIG key file: \(error)")
        }
    }
}
