import ArgumentParser
import DNSWire
import Foundation
import SIG0

/// `delegsync keygen NAME`: a SIG(0) key pair in BIND's file format.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate a SIG(0) key pair (BIND key files) and print its KEY record.",
        discussion: "Writes K<name>+<alg>+<tag>.key and .private, as dnssec-keygen -T KEY -n HOST does; nsupdate -k reads them.")

    @Argument(help: "The key's owner: the child zone's name, e.g. child.parent.")
    var name: String

    @Option(help: "ED25519 (default), ECDSAP256SHA256, ECDSAP384SHA384 or RSASHA256 (or the number).")
    var algorithm: String = "ED25519"

    @Option(help: "KEY flags: 512 as dnssec-keygen -n HOST writes; 0 or 256 per RFC 3445.")
    var flags: UInt16 = 512

    @Option(help: "Where to write the key files.")
    var directory: String = "."

    func run() throws {
        let owner: DomainName
        do {
            owner = try absoluteName(name)
        } catch {
            throw UsageFailure("bad name \"\(name)\": \(error)")
        }
        guard !owner.isRoot else { throw UsageFailure("give the key's owner, e.g. child.parent., not the root") }
        guard let algorithm = SIG0Algorithm(mnemonic: algorithm), algorithm.isSupported else {
            throw UsageFailure("unknown algorithm \"\(self.algorithm)\" (use ED25519, ECDSAP256SHA256, ECDSAP384SHA384 or RSASHA256)")
        }
        guard [0, 256, 512].contains(flags) else {
            throw UsageFailure("KEY flags \(flags): use 0, 256 or 512")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageFailure("\(directory) is not a directory")
        }
        let key = try BINDKeyFile.generate(owner: owner, algorithm: algorithm, flags: flags)
        try key.write(to: directory, created: Date())
        print(key.baseName)
        print(key.keyFileText.split(separator: "\n").filter { !$0.hasPrefix(";") }.joined(separator: "\n"))
    }
}
