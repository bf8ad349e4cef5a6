import DNSWire
import DelegationCore
import SIG0
import Store
import Transport

/// The self-signed key upload of the DDNS draft ("Bootstrapping"): the key becomes *known* and a
/// bootstrap job for exactly that key starts; nothing else changes.
///
/// The uploader is a stranger until the rounds prove the key (DESIGN.md, "Who attacks"), so:
/// TCP only; the strangers' budgets (per source, per prefix, in total) are spent before any
/// crypto; the name must be a delegation in the parent zone; a child has at most
/// `limits.pending-jobs-per-child` unfinished jobs, side by side, one per key, and at most two
/// of them from one source prefix; an identical
/// upload reuses its job. An upload never supersedes, rejects or revokes another key's job or
/// trust, and its replay state is that of the uploaded key's identity alone.
struct UploadIntake: Sendable {
    let configuration: AgentConfiguration
    let store: any DelegationStore
    let reader: any ParentZoneReader
    let signatures: SignatureCheck
    let strangers: StrangerBudget
    /// Told when the trust store changed (the lookup cache).
    let trustChanged: @Sendable () -> Void

    /// Unfinished jobs of one child uploaded from one source prefix, at most.
    static let pendingJobsPerPrefix = 2

    func take(_ upload: SignedUpdate, key rdata: [UInt8], requested: BootstrapPolicy.Method?, now: Int64) async -> UpdateReceiver.Outcome {
        let (zone, child, context) = (upload.zone, upload.child, upload.context)
        var outcome = upload.base
        let keyTag = upload.signature.sig.keyTag
        var method = BootstrapPolicy.Method.manual
        guard !zone.bootstrap.methods.isEmpty else {
            outcome.keyState = .refused
            return outcome.refused(
                .refused, DelegationEDE.prohibited,
                "\(zone.name) accepts no key uploads (bootstrap methods offered: none); ask its operator to install the key")
        }
        guard context.transport == .tcp else {
            return outcome.refused(.refused, DelegationEDE.prohibited, "send the self-signed KEY upload over TCP, not UDP")
        }
        if let spent = strangers.spend(source: context.sourceAddress, now: now) {
            return outcome.refused(.refused, DelegationEDE.blocked, "too many key uploads: \(spent); try again later", rule: "upload-budget")
        }
        if let failure = signatures.failure(upload.signature, rdata: rdata, signer: child, source: context.sourceAddress, now: now)?.throughForwarder(
            upload.forwarder)
        {
            // A key this parent will never verify with (no crypto was done): REFUSED, not BADKEY,
            // which would tell the child to upload the same key again.
            if failure.rule == "unusable-key" {
                return outcome.refused(.refused, DelegationEDE.prohibited, "the uploaded key cannot be used: \(failure.text)", rule: failure.rule)
            }
            if failure.rule == SignatureCheck.Failure.forwarderRule {
                return outcome.refused(failure.rcode, failure.infoCode, failure.text, rule: failure.rule)
            }
            return outcome.refused(failure.rcode, failure.infoCode, "the upload is not signed by the key it carries: \(failure.text)", rule: failure.rule)
        }
        outcome.authenticated = true
        let identity = KeyIdentity(zone: zone.name, child: child, rdata: rdata)
        let sig = upload.signature.sig
        do {
            let admission = Admission(
                key: identity, inception: sig.inception, signatureDigest: SHA256.digest(sig.signature),
                expiresAt: Int64(sig.expiration) + Int64(configuration.signature.allowedSkew), budget: nil)
            switch try store.admit(admission, now: now) {
            case .admitted: break
            case .older, .replayed:
                return outcome.refused(.refused, DelegationEDE.prohibited, "the upload was replayed")
            case .rateLimited:
                return outcome.refused(.refused, DelegationEDE.blocked, "too many uploads of key \(identity)")
            }
        } catch {
            return outcome.refused(.servFail, DelegationEDE.other, "the replay state could not be checked: \(error)")
        }
        do {
            let existing = try store.key(identity)
            if existing?.state == .trusted {
                outcome.keyState = .trusted
                return outcome.refused(.noError, 0, "key \(keyTag) for \(child) is trusted already").withoutError
            }
            let jobs = try store.bootstraps(child: child, activeOnly: true).filter { (try? DomainName($0.zone)) == zone.name }
            if jobs.contains(where: { $0.key == rdata }) {
                outcome.keyState = .bootstrapAutoOngoing
                return outcome.refused(.noError, 0, "key \(keyTag) for \(child): a bootstrap job is under way").withoutError
            }
            let limit = configuration.limits.pendingJobsPerChild
            guard jobs.count < limit else {
                return outcome.refused(
                    .refused, DelegationEDE.blocked,
                    "\(child) has \(jobs.count) bootstrap jobs under way, the most this parent keeps; try again when one has finished",
                    rule: "pending-jobs")
            }
            // One source prefix cannot take every slot of a child.
            let prefix = SourcePrefix.of(context.sourceAddress)
            let fromPrefix = jobs.filter { SourcePrefix.of($0.sourceAddress) == prefix }.count
            guard fromPrefix < Self.pendingJobsPerPrefix else {
                return outcome.refused(
                    .refused, DelegationEDE.blocked,
                    "\(fromPrefix) bootstrap jobs of \(child) uploaded from \(prefix) are under way; try again when one has finished", rule: "pending-jobs")
            }
            // Only a name the parent delegates gets a job (and costs rounds).
            let delegation: DelegationSnapshot?
            do {
                delegation = try await reader.delegation(in: zone, child: child)
            } catch {
                return outcome.refused(.servFail, DelegationEDE.noReachableAuthority, "cannot check that \(child) is delegated: \(error)")
            }
            guard let delegation else {
                return outcome.refused(.refused, DelegationEDE.prohibited, "\(child) is not delegated from \(zone.name)", rule: "not-delegated")
            }
            // at-apex needs a signed child: the DS the parent holds anchors the validation;
            // at-ns a nameserver outside the child, under which a signal can exist.
            let signed = !delegation.ds.isEmpty
            let signalable = delegation.nameservers.contains { !$0.isSubdomain(of: child) }
            guard let chosen = zone.bootstrap.method(requested: requested, signed: signed, signalable: signalable) else {
                outcome.keyState = .refused
                var unmet: [String] = []
                if zone.bootstrap.methods.contains(.atApex) { unmet.append("\(child) is not signed (no DS at the parent) for at-apex") }
                if zone.bootstrap.methods.contains(.atNS) { unmet.append("every NS of \(child) is inside it, so at-ns has no signal to read") }
                return outcome.refused(
                    .refused, DelegationEDE.manualBootstrapRequired,
                    "\(zone.name) offers only \(zone.bootstrap.offered), and \(unmet.joined(separator: "; ")); ask its operator to install the key",
                    rule: "bootstrap-method")
            }
            method = chosen
            if existing == nil || existing?.state == .revoked {
                try store.putKey(
                    StoredKey(
                        zone: zone.name, child: child, keyTag: keyTag, algorithm: sig.algorithm, rdata: rdata, state: .known, addedAt: now, origin: "upload"))
                trustChanged()
            }
            let job = KeyBootstrap(
                zone: zone.name, child: child, key: rdata,
                source: KeyBootstrap.source(address: context.sourceAddress, transport: context.transport.rawValue, forwarded: upload.forwarder != nil),
                now: now,
                policy: zone.bootstrap, method: method)
            try store.putBootstrap(job, now: now)
        } catch {
            return outcome.refused(.servFail, DelegationEDE.other, "cannot store the upload: \(error)")
        }
        outcome.rcode = .noError
        let offered = "bootstrap methods offered: \(zone.bootstrap.offered)"
        switch method {
        case .manual:
            outcome.reason =
                "key \(keyTag) for \(child) is known; manual bootstrap: the parent's operator must check the key and approve it"
                + (requested == .unsigned ? " (automatic bootstrap is not offered here)" : "") + "; \(offered)"
            outcome.keyState = .bootstrapManualRequired
        case .atApex:
            outcome.reason =
                "key \(keyTag) for \(child) is known; bootstrap started: the KEY RRset at the apex of \(child) is validated under its DS on every nameserver"
                + (zone.bootstrap.confirmation == .always ? ", then an operator's confirmation" : "") + "; \(offered)"
            outcome.keyState = zone.bootstrap.confirmation == .never ? .bootstrapAutoOngoing : .bootstrapManualRequired
        case .atNS:
            outcome.reason =
                "key \(keyTag) for \(child) is known; bootstrap started: the KEY RRset must be signalled at _sig0key.\(child)_signal.<ns> "
                + "under every nameserver outside \(child), validated from the trust anchor"
                + (zone.bootstrap.methods.contains(.unsigned) ? " (without any signal: rounds as unsigned)" : "")
                + (zone.bootstrap.confirmation == .always ? ", then an operator's confirmation" : "") + "; \(offered)"
            outcome.keyState = zone.bootstrap.confirmation == .never ? .bootstrapAutoOngoing : .bootstrapManualRequired
        case .unsigned:
            outcome.reason =
                "key \(keyTag) for \(child) is known; bootstrap started: \(zone.bootstrap.rounds) rounds over every nameserver of the child"
                + (zone.bootstrap.confirmation == .always ? ", then an operator's confirmation" : "")
                + (requested == .manual ? " (manual bootstrap is not offered here)" : "") + "; \(offered)"
            outcome.keyState = zone.bootstrap.confirmation == .never ? .bootstrapAutoOngoing : .bootstrapManualRequired
        }
        return outcome
    }
}

extension UpdateReceiver.Outcome {
    /// The same outcome without an Extended DNS Error (for NOERROR answers).
    var withoutError: Self {
        var outcome = self
        outcome.infoCode = nil
        return outcome
    }
}
