import FuzzSupport

#if canImport(Glibc)
    import Glibc
#endif

// The receiver's decision path under libFuzzer: one DNS message per input, through
// `UpdateReceiver.decide` and `handle` over TCP and UDP (ReceiverHarness says how the header ID
// picks the path, and what is checked). Built by `make fuzz` with `-D FUZZING`; see docs/fuzzing.md.

nonisolated(unsafe) let harness = ReceiverHarness()

@_cdecl("LLVMFuzzerTestOneInput")
public func receiverFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    harness.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if FUZZING
    @_cdecl("ReceiverFuzz_main")
    public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        runFuzzer(argc, argv, receiverFuzzOne)
    }
#else
    /// Without libFuzzer: replays the files or directories named on the command line, each from a
    /// fresh state, printing each decision.
    @main enum ReceiverReplay {
        static func main() {
            exit(
                Replay.run(Array(CommandLine.arguments.dropFirst()), name: "ReceiverFuzz") { path, bytes in
                    harness.report = { print("\(path): \($0)") }
                    harness.reset()
                    harness.run(bytes)
                })
        }
    }
#endif
