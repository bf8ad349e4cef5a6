import DNSWire

/// Finds the parent's UPDATE receiver for a child through a resolver (RD=1), the way RFC 9859
/// §4.1 says a child MUST: (1) insert the `_dsync` label after the first label of the child's
/// name and (2) ask that name for DSYNC; (3) on a negative answer, the owner of the SOA in the
/// authority section is the parent: ask the child's labels below the parent followed by
/// `_dsync.<parent>` (when the parent is more than one label up), then the bare `_dsync.<parent>`.
///
/// So for `a.b.parent.` delegated from `parent.`: `a._dsync.b.parent.` (negative, SOA `parent.`),
/// then `a.b._dsync.parent.` (answered by a wildcard `*._dsync.parent.`), then `_dsync.parent.`.
/// The first positive answer ends the search, as in the RFC, even when it holds no record of the
/// wanted scheme (a child-specific record overrides the wildcard).
///
/// From that RRset it takes the record with the configured scheme (UPDATE = 2 by default, the
/// DDNS draft's number; IANA has not assigned one yet) and the asked RRtype, or ANY; records
/// with scheme 0 or port 0 are ignored (RFC 9859 §2.1). More than one candidate for the same
/// (RRtype, scheme) breaks RFC 9859 §3 ("MUST NOT be more than one"): discovery refuses rather
/// than guess. Then it resolves the target's A and AAAA through the same resolver.
///
/// With ``validation`` (configuration `dsync-validation`) every DSYNC answer used — the positive
/// one, and the NXDOMAIN/NODATA answers that led to it — is validated: by the resolver's AD bit,
/// or by the agent itself from a trust anchor (``ChainOfTrust``: signatures, wildcard answers
/// with their NSEC/NSEC3 proof, negative answers by NSEC/NSEC3 denial, RFC 4035 §5). A bogus
/// answer ends discovery with ``DSYNCDiscoveryError/Code/bogus``.
///
/// Limitations: the target's A/AAAA are not validated (the UPDATE is SIG(0)-signed and the
/// receiver's replies are checked against `receiver-key`); a negative answer from a delegated
/// `_dsync.<parent>` zone is read as coming from `<parent>`; the SVCB `bootstrap` parameter at
/// the target is not read.
public struct DSYNCDiscovery: Sendable {
    public let lookup: any DNSLookup
    /// The recursive resolver asked (RD=1).
    public let resolver: NameserverAddress
    /// The scheme wanted (default UPDATE = 2; configurable until IANA assigns it).
    public let scheme: DSYNCData.Scheme
    /// The RRtype wanted; records with RRtype ANY match any choice.
    public let rrType: RRType
    public let transport: LookupTransport
    /// How DSYNC answers are validated (default: not at all).
    public let validation: DSYNCValidation
    /// The check time for ``DSYNCValidation/anchor(_:)`` (Unix seconds).
    public let now: Int64

    /// The `_dsync` label (RFC 9859 §3, registered in RFC 8552's underscored names).
    static let dsyncLabel: [UInt8] = Array("_dsync".utf8)

    public init(
        lookup: any DNSLookup, resolver: NameserverAddress, scheme: DSYNCData.Scheme = .update, rrType: RRType = .any, transport: LookupTransport = .udpThenTCP,
        validation: DSYNCValidation = .none, now: Int64 = 0
    ) {
        self.validation = validation
        self.now = now
        self.lookup = lookup
        self.resolver = resolver
        self.scheme = scheme
        self.rrType = rrType
        self.transport = transport
    }

    /// Runs RFC 9859 §4.1 discovery for `child` and resolves the chosen target.
    public func discover(child: DomainName) async throws -> DSYNCTarget {
        var trail = Trail(child: child)
        guard let first = child.firstLabel else {
            throw DSYNCDiscoveryError(.badChild, child: child, steps: [], "the root has no parent")
        }
        var name = try lookupName(trail, [Array(first)], below: child.parent)
        // The parent as the lookup name implies it (the labels after `_dsync`), until a negative
        // answer names it by its SOA.
        var parent = child.parent
        var parentKnown = false
        var asked: [DomainName] = []
        while true {
            asked.append(name)
            let message = try await ask(name, .dsync, &trail)
            let records = message.answers(name, .dsync)
            if message.rcode == .noError, !records.isEmpty {
                trail.record(name, .dsync, resolver, .records(records))
                let chosen = try choose(from: records, at: name, trail)
                var target = try await resolve(chosen, parent: parent, trail)
                target.dnssec = trail.dnssec
                return target
            }
            let zone = message.negativeAnswerZone
            trail.record(name, .dsync, resolver, .negative(message.rcode, zone: zone))
            if !parentKnown {
                parentKnown = true
                parent = try parentZone(from: zone, negativeAt: name, trail)
                if let relative = child.relativeLabels(to: parent), relative.count > 1 {
                    // RFC 9859 §4.1 step 3: the parent is more than one label away.
                    name = try lookupName(trail, relative.map(Array.init), below: parent)
                    continue
                }
            }
            let bare = try lookupName(trail, [], below: parent)
            if name != bare {
                name = bare
                continue
            }
            let names = asked.map(\.description)
            let list = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
            throw DSYNCDiscoveryError(
                .notFound, child: child, steps: trail.steps,
                "no DSYNC record with scheme \(scheme) at \(list): the parent \(parent) does not publish an UPDATE receiver (RFC 9859 §3); "
                    + "ask its operator, or configure the receiver explicitly")
        }
    }

    /// Bypasses discovery with a receiver named in the configuration: resolves its A and AAAA
    /// through the resolver. (``DSYNCTarget/configured(parent:target:port:addresses:)`` takes
    /// addresses and asks nothing.)
    public func configuredTarget(parent: DomainName, target: DomainName, port: UInt16) async throws -> DSYNCTarget {
        var trail = Trail(child: parent, subject: "the configured UPDATE receiver \(target) for \(parent)")
        let addresses = try await addresses(of: target, &trail, why: "the configured UPDATE receiver")
        return DSYNCTarget(parent: parent, record: nil, target: target, port: port, addresses: addresses, steps: trail.steps)
    }

    // MARK: Steps

    /// The steps so far and the child they are for: every error carries them.
    struct Trail {
        let child: DomainName
        var subject: String? = nil
        var steps: [DiscoveryStep] = []
        /// What validation said of the last DSYNC answer (nil without validation).
        var dnssec: String? = nil

        mutating func record(_ name: DomainName, _ type: RRType, _ server: NameserverAddress, _ outcome: DiscoveryStep.Outcome) {
            steps.append(DiscoveryStep(name: name, type: type, server: server, outcome: outcome))
        }
    }

    /// `<labels>._dsync.<parent>`.
    func lookupName(_ trail: Trail, _ labels: [[UInt8]], below parent: DomainName) throws -> DomainName {
        do {
            return try DomainName(labels: labels + [Self.dsyncLabel] + parent.labels.map(Array.init))
        } catch {
            throw DSYNCDiscoveryError(
                .badChild, child: trail.child, steps: trail.steps, subject: trail.subject, "the DSYNC lookup name below \(parent) is too long: \(error)")
        }
    }

    /// Asks the resolver; an answer that is neither positive nor negative ends discovery.
    func ask(_ name: DomainName, _ type: RRType, _ trail: inout Trail) async throws -> Message {
        let message: Message
        do {
            message = try await lookup.query(name, type, server: resolver, recursionDesired: true, dnssec: validation.query, transport: transport)
        } catch {
            let detail = (error as? DNSLookupError)?.detail ?? "\(error)"
            trail.record(name, type, resolver, .noAnswer(detail))
            throw DSYNCDiscoveryError(
                .resolverUnreachable, child: trail.child, steps: trail.steps, subject: trail.subject,
                "the resolver \(resolver) did not answer \(name) \(type): \(detail); check that it runs and accepts queries from this host")
        }
        guard message.rcode == .noError || message.rcode == .nxDomain else {
            trail.record(name, type, resolver, .failed(message.rcode))
            throw DSYNCDiscoveryError(
                .resolverFailed, child: trail.child, steps: trail.steps, subject: trail.subject,
                "the resolver \(resolver) answered \(message.rcode) to \(name) \(type); see the resolver's log (a broken DNSSEC chain or unreachable parent servers answer SERVFAIL)"
            )
        }
        try await validate(message, name, type, &trail)
        return message
    }

    /// The answer checked as ``validation`` asks; a bogus or unvalidated one ends discovery.
    func validate(_ message: Message, _ name: DomainName, _ type: RRType, _ trail: inout Trail) async throws {
        let kind = message.rcode == .nxDomain ? "NXDOMAIN" : (message.answers(name, type).isEmpty ? "NODATA" : "answer")
        switch validation {
        case .none:
            return
        case .resolverAD:
            guard message.header.ad else {
                throw DSYNCDiscoveryError(
                    .notValidated, child: trail.child, steps: trail.steps, subject: trail.subject,
                    "the resolver \(resolver) did not set the AD bit on the \(kind) for \(name) \(type), so it did not validate it (RFC 4035 §3.2.3). "
                        + "With dsync-validation: resolver-ad only validated answers are used: the parent zone may be unsigned (then use dsync-validation: none), "
                        + "or the resolver does not validate (use one that does, or dsync-validation: anchor)")
            }
            trail.dnssec = "validated by the resolver \(resolver) (AD bit)"
        case .anchor(let anchor):
            let verdict: ChainOfTrust.Verdict
            do {
                verdict = try await ChainOfTrust(anchor: anchor, lookup: lookup, resolver: resolver, transport: transport, now: now).validate(
                    message, name: name, type: type)
            } catch {
                let detail = (error as? DNSLookupError)?.detail ?? "\(error)"
                throw DSYNCDiscoveryError(
                    .resolverUnreachable, child: trail.child, steps: trail.steps, subject: trail.subject,
                    "the resolver \(resolver) did not answer while validating \(name) \(type): \(detail)")
            }
            switch verdict {
            case .bogus(let why):
                throw DSYNCDiscoveryError(
                    .bogus, child: trail.child, steps: trail.steps, subject: trail.subject,
                    "the \(kind) for \(name) \(type) is bogus, refused: \(why). A forged or broken DSYNC answer; check the parent's signatures "
                        + "(e.g. delv +root=\(anchor.zone) -a ANCHOR \(name) DSYNC) and the trust anchor file")
            case .insecure(let why):
                trail.dnssec = "insecure (not validated: \(why))"
            case .secure(let what):
                trail.dnssec = "secure (\(what))"
            }
        }
    }

    /// The parent from a negative answer's SOA (RFC 9859 §4.1 step 3). A SOA at `_dsync.<zone>`
    /// (the parent delegated its `_dsync` subtree) stands for `<zone>`.
    func parentZone(from soaOwner: DomainName?, negativeAt name: DomainName, _ trail: Trail) throws -> DomainName {
        guard var zone = soaOwner else {
            throw DSYNCDiscoveryError(
                .noParent, child: trail.child, steps: trail.steps, subject: trail.subject,
                "the negative answer to \(name) DSYNC has no SOA record, so the parent zone is unknown (RFC 9859 §4.1); check the resolver")
        }
        if let label = zone.firstLabel, label.elementsEqual(Self.dsyncLabel, by: { $0 | 0x20 == $1 | 0x20 }) {
            zone = zone.parent
        }
        guard trail.child.isSubdomain(of: zone), trail.child.labelCount > zone.labelCount else {
            throw DSYNCDiscoveryError(
                .noParent, child: trail.child, steps: trail.steps, subject: trail.subject,
                "the negative answer to \(name) DSYNC comes from zone \(zone), which is not above \(trail.child); check the resolver")
        }
        return zone
    }

    // MARK: Choosing a record

    /// The one usable record of the wanted scheme: RRtype as asked if there is one, else ANY.
    func choose(from records: [Record], at name: DomainName, _ trail: Trail) throws -> Record {
        var candidates: [(record: Record, data: DSYNCData)] = []
        var ignored: [String] = []
        for record in records {
            guard let data = try? DSYNCData(rdata: record.rdata) else {
                ignored.append("\(record.rdata.count)-octet RDATA that is not DSYNC (malformed)")
                continue
            }
            if data.scheme == .reserved {
                ignored.append("\(data) (scheme 0: ignored, RFC 9859 §2.1)")
            } else if data.port == 0 {
                ignored.append("\(data) (port 0: ignored, RFC 9859 §2.1)")
            } else if data.scheme != scheme {
                ignored.append("\(data) (scheme \(data.scheme))")
            } else if data.rrType != rrType && data.rrType != .any {
                ignored.append("\(data) (RRtype \(data.rrType))")
            } else {
                candidates.append((record, data))
            }
        }
        let exact = candidates.filter { $0.data.rrType == rrType }
        let pool = exact.isEmpty ? candidates : exact
        let wanted = rrType == .any ? "RRtype ANY" : "RRtype \(rrType) or ANY"
        guard let chosen = pool.first else {
            throw DSYNCDiscoveryError(
                .noMatchingRecord, child: trail.child, steps: trail.steps, subject: trail.subject,
                "the DSYNC RRset at \(name) has no usable record with scheme \(scheme) (\(scheme.rawValue)) and \(wanted): it holds "
                    + ignored.joined(separator: "; ") + ". A child-specific RRset hides the wildcard (RFC 9859 §4.1); ask the parent's operator")
        }
        guard pool.count == 1 else {
            let all = pool.map { "\($0.data)" }.joined(separator: "; ")
            throw DSYNCDiscoveryError(
                .ambiguous, child: trail.child, steps: trail.steps, subject: trail.subject,
                "the DSYNC RRset at \(name) has \(pool.count) records with RRtype \(chosen.data.rrType) and scheme \(scheme) (\(all)); "
                    + "RFC 9859 §3 allows one, so delegsync will not choose. Ask the parent's operator to fix it, or configure the receiver explicitly")
        }
        return chosen.record
    }

    // MARK: The target's addresses

    func resolve(_ record: Record, parent: DomainName, _ trail: Trail) async throws -> DSYNCTarget {
        var trail = trail
        guard let data = try? DSYNCData(rdata: record.rdata) else {
            throw DSYNCDiscoveryError(
                .noMatchingRecord, child: trail.child, steps: trail.steps, subject: trail.subject, "the DSYNC record at \(record.name) is malformed")
        }
        let addresses = try await addresses(of: data.target, &trail, why: "the DSYNC target (from \(record.name))")
        return DSYNCTarget(parent: parent, record: record, target: data.target, port: data.port, addresses: addresses, steps: trail.steps)
    }

    /// A and AAAA of `target` through the resolver; one of them failing is fine when the other
    /// gives addresses.
    func addresses(of target: DomainName, _ trail: inout Trail, why: String) async throws -> [String] {
        var found: [String] = []
        var failures: [String] = []
        var reached = false
        for type in [RRType.a, .aaaa] {
            let message: Message
            do {
                message = try await lookup.query(target, type, server: resolver, recursionDesired: true, transport: transport)
            } catch {
                let detail = (error as? DNSLookupError)?.detail ?? "\(error)"
                trail.record(target, type, resolver, .noAnswer(detail))
                failures.append("\(type): no answer (\(detail))")
                continue
            }
            reached = true
            let records = message.rcode == .noError ? message.answers(target, type) : []
            switch (message.rcode, records.isEmpty) {
            case (.noError, false):
                trail.record(target, type, resolver, .records(records))
                found += records.compactMap(NameserverAddress.addressText).sorted()
            case (.noError, true), (.nxDomain, _):
                trail.record(target, type, resolver, .negative(message.rcode, zone: message.negativeAnswerZone))
                failures.append("\(type): \(message.rcode == .noError ? "NODATA" : "NXDOMAIN")")
            default:
                trail.record(target, type, resolver, .failed(message.rcode))
                failures.append("\(type): \(message.rcode)")
            }
        }
        guard found.isEmpty else { return found }
        if !reached {
            throw DSYNCDiscoveryError(
                .resolverUnreachable, child: trail.child, steps: trail.steps, subject: trail.subject,
                "the resolver \(resolver) did not answer for \(target), \(why): \(failures.joined(separator: "; "))")
        }
        throw DSYNCDiscoveryError(
            .targetUnresolvable, child: trail.child, steps: trail.steps, subject: trail.subject,
            "\(target), \(why), has no address via the resolver \(resolver) (\(failures.joined(separator: "; "))); the parent's operator must publish its A/AAAA (RFC 9859 §2.1)"
        )
    }
}
