import ArgumentParser
import ChildAgent
import DNSWire

/// `delegsync child notify CHILD [--type cds|cdnskey|csync]`: the child side of the NOTIFY
/// scheme (RFC 9859 §4) — tell the parent that the child's CDS/CDNSKEY or CSYNC changed, so it
/// scans; nothing is signed and nothing changes until the parent has looked for itself.
struct ChildNotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Send NOTIFY(CDS) or NOTIFY(CSYNC) to the parent's NOTIFY target (DSYNC scheme 1, or the configured target): the parent scans the child.",
        discussion: "Exit 0 when the parent answered NOERROR, 4 refused (its EDE is printed), 1 no answer, 2 something to fix here.")
    @OptionGroup var options: ChildCommand.Options
    @Option(help: "What changed: cds (CDS and CDNSKEY), cdnskey or csync.")
    var type: String = "cds"
    @Option(help: "Rounds over the target's addresses when none answers (2 s apart, doubling).")
    var attempts: Int = 4

    func run() async throws {
        try await ChildCommand.run {
            guard let rrType = RRType(mnemonic: type), ChildSynchronizer.notifyTypes.contains(rrType) else {
                throw UsageFailure("--type \(type): use cds, cdnskey or csync")
            }
            let reply = try await options.synchronizer().notify(type: rrType, attempts: max(1, attempts))
            print("notified: the parent answered \(reply); it scans \(try absoluteName(options.child)) now")
        }
    }
}
