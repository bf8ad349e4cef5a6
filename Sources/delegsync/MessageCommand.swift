import ArgumentParser
import DNSWire
import Foundation
import SIG0

/// `delegsync message …`: look at, sign and verify DNS messages, for operators and interop.
struct MessageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "message",
        abstract: "Decode, sign or verify a DNS message in wire format.",
        subcommands: [Decode.self, Sign.self, Verify.self])

    /// The message to read: a file or stdin, binary or hex text.
    struct Source: ParsableArguments {
        @Argument(help: "A DNS message in wire format; - reads stdin.")
        var file: String

        @Flag(help: "The file holds hexadecimal text (white space ignored) instead of binary.")
        var hex = false

        func bytes() throws -> [UInt8] { try MessageFile.read(file, hex: hex) }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a message the way dig does (SIG, KEY and DSYNC included).")

        @OptionGroup var source: Source

        func run() throws {
            let bytes = try source.bytes()
            let message: Message
            do {
                message = try Message(wire: bytes)
            } catch {
                throw UsageFailure("\(source.file) is not a valid DNS message: \(error)")
            }
            print(message, terminator: "")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a message's SIG(0) with a key (RFC 2931), over the bytes as they are.",
            discussion: """
                The signer must be the key's owner. Exit status: 0 verified, 1 not verified (the \
                reason is printed on stderr), 2 bad input.
                """)

        @OptionGroup var source: Source

        @Option(help: "The signer's key: a BIND .key file (K<name>+<alg>+<tag>.key).")
        var key: String

        @Option(help: "Check the signature's time window at this Unix time instead of now.")
        var at: UInt32?

        func run() throws {
            let bytes = try source.bytes()
            let keyFile = try BINDKeyFile.load(path: key)
            let publicKey = try SIG0PublicKey(keyFile.keyData)
            let verified: SIG0Verifier.Verified
            do {
                verified = try SIG0Verifier().verify(message: bytes, key: publicKey, expectedSigner: keyFile.owner, now: MessageFile.time(at))
            } catch {
                printError("not verified: \(error.reason.rawValue): \(error.detail)")
                throw ExitCode(1)
            }
            print("verified: signer \(verified.signer) key tag \(verified.keyTag) algorithm \(verified.algorithm)")
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign an unsigned message with SIG(0) (RFC 2931 §3.1).")

        @Argument(help: "An unsigned DNS message in wire format; - reads stdin.")
        var file: String

        @Option(help: "The private key: a BIND .private file; its .key file must lie next to it.")
        var key: String

        @Option(help: "Write the signed message here (default: stdout).")
        var output: String?

        @Option(help: "Sign as of this Unix time instead of now.")
        var at: UInt32?

        @Option(
            help: """
                Seconds of validity before and after the signing time. delegsync's verifier \
                refuses brackets over 3600 s, so keep this at 1800 or less.
                """)
        var fudge: UInt32 = SIG0Signer.defaultFudge

        @Flag(help: "Write the signed message as hexadecimal text (for terminals; message verify --hex reads it).")
        var hex = false

        @Flag(help: "The file holds hexadecimal text instead of binary.")
        var hexInput = false

        func run() throws {
            let bytes = try MessageFile.read(file, hex: hexInput)
            let signer = try SIG0Signer(keyFile: BINDKeyFile.load(path: key, requirePrivate: true))
            let signed: [UInt8]
            do {
                signed = try signer.sign(bytes, now: MessageFile.time(at), fudge: fudge)
            } catch {
                throw UsageFailure("cannot sign \(file): \(error)")
            }
            try MessageFile.write(signed, to: output, hex: hex)
        }
    }
}
