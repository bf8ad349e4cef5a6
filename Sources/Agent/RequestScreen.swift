import DNSWire
import DelegationCore
import SIG0
import Transport

/// The first stage: what kind of request this is, from its structure alone — no store, no
/// crypto, no network (DESIGN.md: cheap checks before any signature check; CVE-2024-1975).
///
/// A `delegsync status` question (``StatusProbe``) is answered at once; a KeyState inquiry (a
/// QUERY with the option in state 2) goes to ``KeyStateInquiry``; an
/// UPDATE must name a served zone (RFC 2136 §3.1.1), carry exactly one well-formed SIG(0) as
/// its last record (RFC 2931 §3.1) whose signer is a child of that zone, and parse as RFC 2136
/// sections. The self-signed key upload of the DDNS draft goes to ``UploadIntake``, every other
/// UPDATE to ``SignerAuthentication``.
struct RequestScreen: Sendable {
    let configuration: AgentConfiguration

    /// Where a screened request goes next.
    enum Route: Sendable {
        case inquiry(KeyStateOption)
        /// A `delegsync status` question (``StatusProbe``) for this name.
        case status(DomainName)
        /// A self-signed upload of the KEY RDATA it carries.
        case upload(SignedUpdate, key: [UInt8], requested: BootstrapPolicy.Method?)
        case update(SignedUpdate)
        /// A NOTIFY (RFC 1996, RFC 9859 §4): for ``NotifyIntake``.
        case notify
    }

    func screen(_ bytes: [UInt8], layout: MessageLayout, message: Message, context: DNSRequestContext) -> Stage<Route> {
        if let name = StatusProbe.name(asked: message) { return .next(.status(name)) }
        if message.opcode == .query, let inquiry = message.edns?.keyState(code: configuration.keyStateOptionCode), inquiry.state == .inquiry {
            return .next(.inquiry(inquiry))
        }
        if message.opcode == .notify { return .next(.notify) }
        guard message.opcode == .update else {
            return .done(.reject(.notImp, DelegationEDE.notSupported, "opcode \(message.opcode) is not served here; send UPDATE"))
        }
        guard message.zone.count == 1, let question = message.zone.first, question.type == .soa, question.qclass == .in else {
            return .done(
                .reject(.formErr, DelegationEDE.invalidData, "the zone section must hold one IN SOA record naming the parent zone (RFC 2136 §3.1.1)"))
        }
        guard let zone = configuration.zone(named: question.name) else {
            return .done(.reject(.notAuth, DelegationEDE.notAuthoritative, "\(question.name) is not a zone this agent serves"))
        }
        var outcome = UpdateReceiver.Outcome(rcode: .refused, reason: "", zone: zone.name)

        let signature: SIG0Signature
        do {
            signature = try SIG0Signature(message: bytes, layout: layout)
        } catch {
            switch error.reason {
            case .noSignature:
                let tsig = layout.spans(in: .additional).contains { $0.type == .tsig }
                return .done(
                    outcome.refused(
                        .refused, DelegationEDE.prohibited,
                        tsig
                            ? "TSIG-signed UPDATEs are not accepted here; sign with the child's SIG(0) key"
                            : "unsigned UPDATEs are not accepted; sign with the child's SIG(0) key"))
            default:
                return .done(outcome.refused(.formErr, DelegationEDE.invalidData, "\(error.reason.rawValue): \(error.detail)"))
            }
        }
        let sig = signature.sig
        let child = sig.signerName
        outcome.signer = child
        outcome.keyTag = sig.keyTag
        guard child.isSubdomain(of: zone.name), child != zone.name else {
            return .done(outcome.refused(.refused, DelegationEDE.prohibited, "the signer \(child) is not a child of \(zone.name)"))
        }
        let update: Update
        do {
            update = try Update(message: message)
        } catch {
            return .done(outcome.refused(.formErr, DelegationEDE.invalidData, "\(error)"))
        }
        let signed = SignedUpdate(
            zone: zone, child: child, update: update, signature: signature, base: outcome, context: context,
            forwarder: zone.isForwarder(context.sourceAddress) ? context.sourceAddress : nil)
        if let key = Self.selfSignedUpload(update, child: child, sig: sig) {
            // KeyState (draft-berra-dnsop-keystate): 0 asks for automatic bootstrap, 1 for manual.
            let asked = message.edns?.keyState(code: configuration.keyStateOptionCode)?.state
            let requested: BootstrapPolicy.Method? =
                asked == .requestManualBootstrap ? .manual : asked == .requestAutoBootstrap ? .unsigned : nil
            return .next(.upload(signed, key: key, requested: requested))
        }
        return .next(.update(signed))
    }

    /// The self-signed key upload of the DDNS draft: `update delete CHILD ANY KEY` then
    /// `update add CHILD KEY <new key>`, signed by that new key. Returns the new KEY RDATA.
    static func selfSignedUpload(_ update: Update, child: DomainName, sig: SIGData) -> [UInt8]? {
        guard update.prerequisites.isEmpty, update.operations.count == 2,
            update.operations[0] == .deleteRRset(child, .key),
            case .add(let record) = update.operations[1], record.name == child, record.type == .key,
            let key = try? KEYData(rdata: record.rdata), key.keyTag == sig.keyTag, key.algorithm == sig.algorithm
        else { return nil }
        return record.rdata
    }
}
