import DNSWire

/// Something the parent's operator may want to act on, handed to the configured command or
/// webhook as one JSON object (docs/parent.md, "Events"):
///
///     {"event":"key-trusted","time":"2027-01-15T08:00:00Z","zone":"parent.",
///      "child":"child.parent.","key":"child.parent. 15/12345 sha256:…","detail":"…","agent":"host"}
///
/// `event` is one of the stable names of ``Kind``; `time` is RFC 3339 §5.6 in UTC; `child` and
/// `key` (the ``KeyIdentity`` text) are `null` where the event has none; `detail` is text for a
/// person, not for parsing; `agent` names the host that sent it. Later versions may add members;
/// a consumer ignores those it does not know.
public struct OperatorEvent: Sendable, Hashable {
    /// The stable `event` names.
    public enum Kind: String, Sendable, Hashable, CaseIterable, Comparable {
        /// A child's key became trusted: its bootstrap passed, or a rollover added it.
        case keyTrusted = "key-trusted"
        /// A bootstrap job failed (a round, its deadline) or the approval command rejected it.
        case bootstrapFailed = "bootstrap-failed"
        /// An accepted change is confirmed at the parent's primary.
        case changeCommitted = "change-committed"
        /// An accepted change will never be applied: deadline, permanent refusal by the primary,
        /// refused by the policy on the parent's current data, or cancelled with its signing key.
        case changeGivenUp = "change-given-up"
        /// A zone's changes have failed to reach the parent's primary for longer than
        /// `events.backend-failing-after`; once per episode.
        case backendFailing = "backend-failing"
        /// The first change that reached the primary after a reported `backend-failing`.
        case backendRecovered = "backend-recovered"
        /// A child has an accepted change that has not reached the parent for longer than
        /// `events.out-of-step-after` (the "DS still missing" alarm); once per episode.
        case outOfStep = "out-of-step"

        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }

    public var kind: Kind
    /// Unix seconds.
    public var time: Int64
    public var zone: DomainName
    public var child: DomainName?
    /// The key the event is about: the one trusted, bootstrapped, or that signed the change.
    public var key: KeyIdentity?
    public var detail: String

    public init(kind: Kind, time: Int64, zone: DomainName, child: DomainName? = nil, key: KeyIdentity? = nil, detail: String) {
        self.kind = kind
        self.time = time
        self.zone = zone
        self.child = child
        self.key = key
        self.detail = detail
    }

    /// The JSON object (RFC 8259), on one line, members in the documented order.
    public func json(agent: String) -> String {
        let members: [(String, String?)] = [
            ("event", kind.rawValue), ("time", UTCTime.rfc3339(time)), ("zone", zone.description), ("child", child?.description),
            ("key", key?.description), ("detail", detail), ("agent", agent),
        ]
        return "{" + members.map { "\(Self.quoted($0.0)):\($0.1.map(Self.quoted) ?? "null")" }.joined(separator: ",") + "}"
    }

    /// A JSON string (RFC 8259 §7): quotation mark, reverse solidus and control characters
    /// escaped, everything else as it is (UTF-8).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension OperatorEvent {
    /// `key-trusted` for a bootstrap job that reached `trusted` (the caller promoted its key).
    public static func keyTrusted(_ job: KeyBootstrap, zone: DomainName, child: DomainName, now: Int64) -> OperatorEvent {
        let how =
            switch job.method {
            case .manual: "approved by an operator (manual bootstrap)"
            case .unsigned: "\(job.policy.rounds) round(s) passed at every nameserver" + (job.approved ? " and the upload was confirmed" : "")
            case .atApex: "its KEY RRset validated under the parent's DS at every nameserver (at-apex)" + (job.approved ? " and the upload was confirmed" : "")
            case .atNS:
                "its KEY RRset signalled and validated from the trust anchor under every nameserver outside the child (at-ns)"
                    + (job.approved ? " and the upload was confirmed" : "")
            }
        return OperatorEvent(
            kind: .keyTrusted, time: now, zone: zone, child: child, key: KeyIdentity(zone: zone, child: child, rdata: job.key),
            detail: "key \(job.keyTag) uploaded from \(job.source) is trusted: \(how); the child's other keys are revoked")
    }

    /// `key-trusted` for a key a rollover added (an UPDATE signed by the child's trusted key).
    public static func keyTrusted(rollover rdata: [UInt8], zone: DomainName, child: DomainName, now: Int64) -> OperatorEvent {
        let key = KeyIdentity(zone: zone, child: child, rdata: rdata)
        return OperatorEvent(
            kind: .keyTrusted, time: now, zone: zone, child: child, key: key,
            detail: "key \(key.keyTag) is trusted: added by a rollover signed by the child's trusted key")
    }

    /// `bootstrap-failed` for a job that failed or was rejected, and why.
    public static func bootstrapFailed(_ job: KeyBootstrap, zone: DomainName, child: DomainName, reason: String, now: Int64) -> OperatorEvent {
        OperatorEvent(
            kind: .bootstrapFailed, time: now, zone: zone, child: child, key: KeyIdentity(zone: zone, child: child, rdata: job.key),
            detail: "key \(job.keyTag) uploaded from \(job.source) is not trusted: \(reason); the child's trusted keys stay as they were")
    }

    /// `change-committed`: the change, accepted at `queuedAt`, is confirmed at the parent's primary.
    public static func changeCommitted(
        zone: DomainName, child: DomainName, signer: KeyIdentity?, operations: [Update.Operation], queuedAt: Int64, now: Int64, note: String? = nil
    ) -> OperatorEvent {
        let waited = now - queuedAt > 1 ? " after \(now - queuedAt) s in the outbox" : ""
        return OperatorEvent(
            kind: .changeCommitted, time: now, zone: zone, child: child, key: signer,
            detail: "committed at the parent's primary\(waited)\(note.map { " (\($0))" } ?? ""): " + changes(operations))
    }

    /// `change-given-up`: the change will never be applied, for `reason`.
    public static func changeGivenUp(zone: DomainName, child: DomainName, signer: KeyIdentity?, operations: [Update.Operation], reason: String, now: Int64)
        -> OperatorEvent
    {
        OperatorEvent(kind: .changeGivenUp, time: now, zone: zone, child: child, key: signer, detail: "\(reason): " + changes(operations))
    }

    /// `change-given-up` for queued changes cancelled together because the key that signed them
    /// was revoked (by a rollover or a newly trusted key).
    public static func changesCancelled(zone: DomainName, child: DomainName, count: Int, because: String, now: Int64) -> OperatorEvent {
        OperatorEvent(
            kind: .changeGivenUp, time: now, zone: zone, child: child,
            detail: "cancelled: \(count) queued change(s) whose signing key was revoked (\(because))")
    }

    /// The operations as one line of text: `add child.parent. 3600 IN NS ns1.…; delete …`.
    static func changes(_ operations: [Update.Operation]) -> String {
        // Records print with tabs between fields (the zone-file form); one space reads better here.
        operations.isEmpty ? "no changes" : operations.map { $0.description.split(separator: "\t").joined(separator: " ") }.joined(separator: "; ")
    }
}
