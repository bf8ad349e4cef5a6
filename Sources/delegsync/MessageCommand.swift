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

    struct Source: ParsableArguments {
        @Argument(help: "A DNS message in wire format; - reads stdin.")
        var file: String

        @Flag(help: "The file holds hexadecimal text instead of binary.")
        var hex = false

        func bytes() throws -> [UInt8] { try Input.message(file, hex: hex) }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a message the way dig does (SIG, KEY and DSYNC included).")

        @OptionGroup var source: Source

        func run() throws {
            try reporting {
                let bytes = try source.bytes()
                do {
                    print(try Message(wire: bytes), terminator: "")
                } catch {
                    throw UsageFailure("\(source.file) is not a valid DNS message: \(error)")
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a message's SIG(0) with a key (RFC 2931), over the bytes as they are.",
            discussion: "Exit status: 0 verified, 1 not verified (the reason is printed), 2 bad input.")

        @OptionGroup var source: Source

        @Option(help: "The signer's key: a BIND .key file (K<name>+<alg>+<tag>.key).")
        var key: String

        @Option(help: "Check the signature's time window at this Unix time instead of now.")
        var at: UInt32?

        func run() throws {
            try reporting {
                let bytes = try source.bytes()
                let keyFile: BINDKeyFile
                let publicKey: SIG0PublicKey
                do {
                    keyFile = try BINDKeyFile.load(path: key)
                    publicKey = try SIG0PublicKey(keyFile.keyData)
                } catch {
                    throw UsageFailure("\(error)")
                }
                do {
                    let verified = try SIG0Verifier().verify(message: bytes, key: publicKey, expectedSigner: keyFile.owner, now: Input.time(at))
                    print("verified: signer \(verified.signer) key tag \(verified.keyTag) algorithm \(verified.algorithm)")
                } catch let rejection as SIG0Rejection {
                    printError("not verified: \(rejection.reason.rawValue): \(rejection.detail)")
                    throw ExitCode(1)
                }
            }
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign an unsigned message with SIG(0) (RFC 2931 §3.1).")

        @OptionGroup var source: Source

        @Option(help: "The private key: a BIND .private file; its .key file must lie next to it.")
        var key: String

        @Option(help: "Write the signed message here (default: stdout).")
        var output: String?

        @Option(help: "Sign as of this Unix time instead of now.")
        var at: UInt32?

        @Option(help: "Seconds of validity before and after the signing time.")
        var fudge: UInt32 = SIG0Signer.defaultFudge

        func run() throws {
            try reporting {
                let bytes = try source.bytes()
                let signer: SIG0Signer
                do {
                    signer = try SIG0Signer(keyFile: BINDKeyFile.load(path: key, requirePrivate: true))
                } catch {
                    throw UsageFailure("\(error)")
                }
                let signed: [UInt8]
                do {
                    signed = try signer.sign(bytes, now: Input.time(at), fudge: fudge)
                } catch {
                    throw UsageFailure("cannot sign \(source.file): \(error)")
                }
                let out = source.hex ? Data((signed.hexString + "\n").utf8) : Data(signed)
                if let output {
                    guard FileManager.default.createFile(atPath: output, contents: out) else {
                        throw UsageFailure("cannot write \(output)")
                    }
                } else {
                    FileHandle.standardOutput.write(out)
                }
            }
        }
    }
}
