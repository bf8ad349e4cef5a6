import DNSWire
import DelegationCore
import FuzzSupport
import SIG0

// `ParentChannel.reply` is internal; a debug build and the fuzz build (`-enable-testing`) can
// reach it. An ordinary release build replays everything else.
#if DEBUG || FUZZING
    @testable import ChildAgent
#else
    import ChildAgent
#endif

#if canImport(Glibc)
    import Glibc
#endif

// The child side's parsing under libFuzzer: each input is one DNS message, read as the parent's
// reply to the child's request (`ParentChannel.reply`, with and without the receiver's key, so
// SIG(0) reply verification runs), as a request to the NOTIFY listener (`NotifyResponder`), and
// by the wire layer on its own (`Message(wire:)`, `MessageLayout(scanning:)`,
// `SIG0Signature(message:)`, `Update(message:)`). Built by `make fuzz`; see docs/fuzzing.md.

/// The fixtures, built once.
struct ChildTarget {
    let signed = try! ParentChannel(endpoints: [NameserverAddress("192.0.2.80", port: 5302)], receiverKey: FuzzKeys.receiver)
    let unsigned = try! ParentChannel(endpoints: [NameserverAddress("192.0.2.80", port: 5302)])
    let responder = NotifyResponder(
        children: try! ChildConfiguration.parse(
            """
            version: 1
            children:
              - name: child.parent.
                primary: { address: 192.0.2.53 }
              - name: v6.parent.
                primary: { address: "2001:db8::53" }
            """
        ).children)

    func run(_ bytes: [UInt8]) {
        wire(bytes)
        notify(bytes)
        #if DEBUG || FUZZING
            reply(bytes)
        #endif
    }

    /// The wire layer alone: whatever parses must encode again, and its encoding parse.
    func wire(_ bytes: [UInt8]) {
        let layout = try? MessageLayout(scanning: bytes)
        _ = try? SIG0Signature(message: bytes)
        guard let message = try? Message(wire: bytes) else { return }
        check(layout != nil, "Message(wire:) parsed what MessageLayout(scanning:) refused")
        _ = try? Update(message: message)
        _ = message.edns?.extendedErrors
        _ = message.edns?.keyState()
        if let again = try? message.wireFormat() {
            check((try? Message(wire: again)) != nil, "a parsed message, encoded again, does not parse")
        }
    }

    /// The NOTIFY listener: a reply exactly when one is due, carrying the request's ID with QR.
    /// The ID's lowest bit picks whether the request comes from the child's primary.
    func notify(_ bytes: [UInt8]) {
        let due = bytes.count >= MessageLayout.headerLength && bytes[2] & 0x80 == 0
        let source = bytes.count > 1 && bytes[1] & 1 == 1 ? "::ffff:192.0.2.53" : "192.0.2.54"
        guard let decision = responder.respond(to: bytes, from: source) else {
            check(!due, "no answer to a request that is due one")
            return
        }
        check(due, "an answer to a response or a runt")
        check(decision.accepted == nil || decision.rcode == .noError, "accepted with \(decision.rcode)")
        guard let reply = try? Message(wire: decision.reply) else { fail("the NOTIFY reply does not parse: \(decision.reply)") }
        check(reply.header.qr && reply.id == UInt16(bytes[0]) << 8 | UInt16(bytes[1]), "the NOTIFY reply has another ID or no QR")
    }

    #if DEBUG || FUZZING
        /// The parent's reply, decoded and (with the receiver's key) authenticated.
        func reply(_ bytes: [UInt8]) {
            let id = bytes.count >= 2 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : 0
            let request = ChildRequests.request(forReplyID: id)
            let endpoint = signed.endpoints[0]
            _ = try? unsigned.reply(bytes, to: request, from: endpoint, now: UInt32(FuzzKeys.now))
            if let believed = try? signed.reply(bytes, to: request, from: endpoint, now: UInt32(FuzzKeys.now)) {
                check(believed.authenticated, "a reply was believed without its signature checked")
            }
        }

        /// In words, for the replay tool: what the channel with the receiver's key and the NOTIFY
        /// listener make of `bytes`.
        func describe(_ bytes: [UInt8]) -> String {
            let id = bytes.count >= 2 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : 0
            var text: String
            do {
                let reply = try signed.reply(bytes, to: ChildRequests.request(forReplyID: id), from: signed.endpoints[0], now: UInt32(FuzzKeys.now))
                text = "reply believed: \(reply)"
            } catch {
                text = "reply refused: \(error)"
            }
            if let decision = responder.respond(to: bytes, from: bytes.count > 1 && bytes[1] & 1 == 1 ? "::ffff:192.0.2.53" : "192.0.2.54") {
                text += "; as a NOTIFY: \(decision.rcode) \(decision.reason)"
            }
            return text
        }
    #endif
}

let target = ChildTarget()

@_cdecl("LLVMFuzzerTestOneInput")
public func childFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if FUZZING
    @_cdecl("ChildFuzz_main")
    public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        runFuzzer(argc, argv, childFuzzOne)
    }
#else
    /// Without libFuzzer: replays the files or directories named on the command line (in a
    /// debug build also saying what the child made of each).
    @main enum ChildReplay {
        static func main() {
            exit(
                Replay.run(Array(CommandLine.arguments.dropFirst()), name: "ChildFuzz") { path, bytes in
                    #if DEBUG
                        print("\(path): \(target.describe(bytes))")
                    #endif
                    target.run(bytes)
                })
        }
    }
#endif
