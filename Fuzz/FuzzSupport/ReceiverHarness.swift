import Agent
import DNSWire
import DelegationCore
import Logging
import SIG0
import Store
import Transport

/// The parent's receiver with fixed time and in-memory collaborators, for the receiver fuzz
/// target: an in-memory SQLite store trusting ``FuzzKeys/childKey`` and the BIND capture keys
/// for `child.parent.` (and one key each for `other.parent.` and `MiXed.Parent.`), an in-memory
/// parent zone as reader and backend, and the receiver's own key signing replies.
///
/// The input is one DNS message. Its header ID picks how it is delivered, so that every seed
/// stays a plain DNS message (a BIND capture works as it is):
///
/// | ID bit | 0 | 1 |
/// |---|---|---|
/// | 0 | over TCP | over UDP |
/// | 1 | `decide(_:context:now:)` | `handle(_:context:)` (audit, reply encoded and signed) |
///
/// and bits 2–3, only for a message without a SIG as its last record: `10` appends a SIG(0) by
/// the child's trusted key (so mutated content reaches the policy and the commit), `11` one by
/// a key the child has not had trusted (the self-signed upload path); otherwise it goes as it is.
///
/// After each input it checks what must always hold, and traps (a crash for libFuzzer) when not:
/// the backend was asked to change nothing outside the child of the key that signed the request
/// (and nothing at all for an unsigned one); no bootstrap job comes from UDP; a reply from
/// `handle` parses, carries the request's ID with QR set, and is signed by the receiver over
/// the request. The state is rebuilt every ``resetInterval`` inputs, so budgets, replay
/// memory and audit rows stay bounded and the budget-free paths stay reachable.
public final class ReceiverHarness {
    public static let resetInterval = 1000

    let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    let configuration: AgentConfiguration
    let receiverKey: SIG0PublicKey
    let signers: (trusted: SIG0Signer, stranger: SIG0Signer)
    var store: SQLiteStore!
    var parent: InMemoryParent!
    var receiver: UpdateReceiver!
    var runs = 0
    /// Told each input's outcome in words (the replay tool prints them); nil while fuzzing.
    public var report: ((String) -> Void)?

    static let tcp = DNSRequestContext(sourceAddress: "192.0.2.7", sourcePort: 40000, transport: .tcp)
    static let udp = DNSRequestContext(sourceAddress: "192.0.2.7", sourcePort: 40001, transport: .udp)

    public init() {
        configuration = try! AgentConfiguration.parse(
            """
            version: 1
            store: { path: /nonexistent }
            zones:
              - name: parent.
                primary: { address: 127.0.0.1, port: 53 }
                ttl: 3600
                backend: { type: script, output: "-" }
                bootstrap: { methods: [unsigned, manual] }
                # The child's servers are not there: the checks would refuse every NS and DS
                # change, and the commit path would not be fuzzed. The probe never leaves the process.
                content-checks: { ns-authoritative: false, ds-matches-dnskey: false, ds-removal-needs-cds-delete: false }
            limits: { verifications-per-source-per-second: 1000000, max-verifications-in-flight: 1024 }
            """)
        receiverKey = try! SIG0PublicKey(FuzzKeys.receiver.keyData)
        signers = (try! SIG0Signer(keyFile: FuzzKeys.childKey), try! SIG0Signer(keyFile: FuzzKeys.strangerKey))
        reset()
    }

    /// The parent's delegations before any input.
    public static func initialSnapshots() -> [DelegationSnapshot] {
        [
            try! DelegationSnapshot(
                child: FuzzKeys.child,
                records: [
                    try! Record("child.parent. 3600 IN NS ns1.child.parent."),
                    try! Record("child.parent. 3600 IN NS ns.old.example."),
                    try! Record("ns1.child.parent. 3600 IN A 192.0.2.1"),
                ]),
            try! DelegationSnapshot(
                child: FuzzKeys.other,
                records: [
                    try! Record("other.parent. 3600 IN NS ns1.other.parent."),
                    try! Record("ns1.other.parent. 3600 IN A 192.0.2.53"),
                ]),
            DelegationSnapshot(child: FuzzKeys.mixed, nameservers: [try! DomainName("ns.provider.example.")]),
        ]
    }

    /// A fresh store, parent and receiver (the replay tool starts each input from here).
    public func reset() {
        store = try! SQLiteStore.inMemory()
        var trusted = [(FuzzKeys.child, FuzzKeys.childKey.keyData), (FuzzKeys.other, FuzzKeys.otherKey.keyData)]
        trusted += FuzzKeys.bindCaptureKeys.map { ($0.name.lowercased, try! KEYData(rdata: $0.rdata)) }
        for (child, key) in trusted {
            try! store.putKey(
                StoredKey(
                    zone: FuzzKeys.zone, child: child, keyTag: key.keyTag, algorithm: key.algorithm, rdata: key.rdata, state: .trusted,
                    addedAt: FuzzKeys.now - 86400, origin: "import"))
        }
        parent = InMemoryParent(Self.initialSnapshots())
        receiver = UpdateReceiver(
            configuration: configuration, store: store, backends: [FuzzKeys.zone: parent], reader: parent,
            contentProbe: ChildContentProbe(exchange: { _, _, _, _ in throw FuzzOffline() }), clock: { FuzzKeys.now }, logger: logger,
            identity: try! SIG0Signer(keyFile: FuzzKeys.receiver))
    }

    /// Runs one input through the receiver and checks the invariants.
    public func run(_ input: [UInt8]) {
        runs += 1
        if runs % Self.resetInterval == 0 { reset() }
        guard input.count >= 2 else {
            _ = runBlocking { [receiver] in await receiver!.decide(input, context: Self.tcp, now: FuzzKeys.now) }
            return
        }
        let mode = input[1]
        let context = mode & 1 == 0 ? Self.tcp : Self.udp
        var bytes = input
        if mode & 0b1000 != 0, let layout = try? MessageLayout(scanning: input), layout.spans(in: .additional).last?.type != .sig {
            let signer = mode & 0b0100 == 0 ? signers.trusted : signers.stranger
            if let signed = try? signer.sign(input, now: UInt32(FuzzKeys.now)) { bytes = signed }
        }
        let jobsBefore = context.transport == .udp ? bootstrapCount() : 0
        let request = bytes
        if mode & 0b10 == 0 {
            let decision = runBlocking { [receiver] in await receiver!.decide(request, context: context, now: FuzzKeys.now) }
            if let decision, decision.message == nil {
                check(decision.outcome.rcode == .formErr, "an unparsed request was answered \(decision.outcome.rcode)")
            }
            report?("decide \(context.transport): " + (decision.map { "\($0.outcome.rcode) \($0.outcome.reason)" } ?? "no reply"))
        } else {
            let reply = runBlocking { [receiver] in await receiver!.handle(request, context: context) }
            checkReply(reply, to: request)
            if let report {
                let message = reply.flatMap { try? Message(wire: $0) }
                report("handle \(context.transport): " + (message.map { "\($0.rcode) \($0.edns?.extendedError?.extraText ?? "")" } ?? "no reply"))
            }
        }
        checkChanges(request)
        if context.transport == .udp {
            check(bootstrapCount() == jobsBefore, "a request over UDP started a bootstrap job")
        }
    }

    /// The receiver's reply to `request` over TCP, as `handle` gives it (for the seed generator).
    public func handle(_ request: [UInt8]) -> [UInt8]? {
        runBlocking { [receiver] in await receiver!.handle(request, context: Self.tcp) }
    }

    func bootstrapCount() -> Int {
        (try? store.bootstraps(child: nil, activeOnly: false).count) ?? 0
    }

    /// Whatever the backend was asked to change lies at or below the child whose key signed.
    func checkChanges(_ request: [UInt8]) {
        let applied = parent.takeApplied()
        guard !applied.isEmpty else { return }
        guard let signature = try? SIG0Signature(message: request) else {
            fail("an unsigned request changed the parent: \(applied)")
        }
        let signer = signature.sig.signerName
        let children = [FuzzKeys.child, FuzzKeys.other, FuzzKeys.mixed]
        check(children.contains(signer), "a request signed by \(signer), which has no trusted key, changed the parent")
        for operation in applied {
            check(operation.name.isSubdomain(of: signer), "a request signed by \(signer) changed \(operation.name)")
        }
    }

    func checkReply(_ reply: [UInt8]?, to request: [UInt8]) {
        let answered = request.count >= MessageLayout.headerLength && request[2] & 0x80 == 0
        guard let reply else {
            check(!answered, "no reply to a request that is due one")
            return
        }
        check(answered, "a reply to a response or a runt")
        let message: Message
        do {
            message = try Message(wire: reply)
        } catch {
            fail("the reply does not parse: \(error); reply \(reply)")
        }
        check(message.header.qr && message.id == UInt16(request[0]) << 8 | UInt16(request[1]), "the reply has another ID or no QR")
        do {
            try SIG0Verifier().verify(
                message: reply, key: receiverKey, expectedSigner: FuzzKeys.receiverName, now: UInt32(FuzzKeys.now), request: request)
        } catch {
            fail("the reply is not signed by the receiver over the request: \(error)")
        }
    }
}

/// Traps with `message` when `condition` is false: a finding for libFuzzer.
public func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fail(message()) }
}

public func fail(_ message: String) -> Never {
    fatalError("fuzz invariant: \(message)")
}

/// The fuzz targets never send anything: a probe that asks gets this.
struct FuzzOffline: Error {}
