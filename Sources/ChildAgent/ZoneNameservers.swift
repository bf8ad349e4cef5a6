import DNSWire

/// Lists a zone's authoritative servers with their addresses: the NS RRset at the apex
/// (RFC 1034 §4.2.1) and the A/AAAA of each NS name — in-bailiwick names (at or below the zone,
/// compared label by label) from the zone's own data, the others through a resolver.
///
/// Limitations: an in-bailiwick NS name below a further zone cut (`ns.sub.child.parent.` with
/// `sub.child.parent.` delegated) is answered by a referral, which is reported as not
/// authoritative rather than followed.
public struct ZoneNameservers: Sendable {
    public let lookup: any DNSLookup
    /// The recursive resolver for NS names outside the zone (RD=1); without one, such names
    /// have no address and reading fails saying so.
    public let resolver: NameserverAddress?
    /// The port the servers answer on (53; tests may use another).
    public let port: Int

    public init(lookup: any DNSLookup, resolver: NameserverAddress? = nil, port: Int = 53) {
        self.lookup = lookup
        self.resolver = resolver
        self.port = port
    }

    /// The NS RRset of `zone` as `primary` serves it (RD=0 over TCP, AA required), addresses of
    /// in-bailiwick names from `primary` as well, the others from the resolver. The primary
    /// itself is not added (it may be hidden). Throws ``ZoneReadError`` naming every NS name
    /// without an address: every server must be reachable to check that all agree.
    public func servers(of zone: DomainName, askingPrimary primary: NameserverAddress) async throws -> [AuthoritativeServer] {
        let source = AuthoritativeServer(address: primary)
        let survey = AuthoritativeSurvey(lookup: lookup)
        let nsQuestion = Question(name: zone, type: .ns)
        let answer = await survey.ask(nsQuestion, of: source, read: AuthoritativeSurvey.authoritative(apex: true))
        let nsRecords: [Record]
        switch answer {
        case .failure(let problem):
            throw ZoneReadError(zone: zone, what: "the nameservers of \(zone) from its primary \(primary)", problems: [problem])
        case .success(let records):
            nsRecords = records
        }
        return try await servers(of: zone, nsRecords: nsRecords, from: "the primary \(primary)") { name, type in
            if name.isSubdomain(of: zone) {
                return await survey.ask(Question(name: name, type: type), of: source, read: AuthoritativeSurvey.authoritative(apex: false))
            }
            return await resolve(name, type)
        }
    }

    /// The NS RRset of `zone` and every address, all through the resolver (RD=1): how a child
    /// finds its parent's servers once DSYNC discovery named the parent.
    public func servers(of zone: DomainName) async throws -> [AuthoritativeServer] {
        guard let resolver else {
            throw ZoneReadError(
                zone: zone, what: "the nameservers of \(zone)",
                problems: [ZoneReadError.Problem(.noNameservers, server: nil, question: nil, "no resolver is configured to look them up")])
        }
        let nsRecords: [Record]
        switch await resolve(zone, .ns) {
        case .failure(let problem):
            throw ZoneReadError(zone: zone, what: "the nameservers of \(zone) via the resolver \(resolver)", problems: [problem])
        case .success(let records):
            nsRecords = records
        }
        return try await servers(of: zone, nsRecords: nsRecords, from: "the resolver \(resolver)") { name, type in await resolve(name, type) }
    }

    /// One server per (NS name, address), NS names in canonical order, A before AAAA.
    func servers(
        of zone: DomainName, nsRecords: [Record], from source: String,
        addresses: (DomainName, RRType) async -> Result<[Record], ZoneReadError.Problem>
    ) async throws -> [AuthoritativeServer] {
        let what = "the nameservers of \(zone)"
        var names: [DomainName] = []
        for record in nsRecords {
            guard let name = try? DomainName.read(from: record.rdata, at: 0).name else {
                throw ZoneReadError(
                    zone: zone, what: what, problems: [ZoneReadError.Problem(.invalid, server: nil, question: nil, "an NS RDATA of \(zone) is not a name")])
            }
            if !names.contains(name) { names.append(name) }
        }
        guard !names.isEmpty else {
            throw ZoneReadError(
                zone: zone, what: what,
                problems: [ZoneReadError.Problem(.noNameservers, server: nil, question: nil, "\(source) serves no NS records for \(zone)")])
        }
        var servers: [AuthoritativeServer] = []
        var problems: [ZoneReadError.Problem] = []
        for name in names.sorted() {
            var found: [String] = []
            var why: [String] = []
            for type in [RRType.a, .aaaa] {
                switch await addresses(name, type) {
                case .success(let records):
                    found += records.compactMap(NameserverAddress.addressText).sorted()
                    if records.isEmpty { why.append("no \(type)") }
                case .failure(let problem):
                    why.append(problem.description)
                }
            }
            guard !found.isEmpty else {
                let place = name.isSubdomain(of: zone) ? "inside \(zone), asked of \(source)" : "outside \(zone), asked of the resolver"
                problems.append(
                    ZoneReadError.Problem(
                        .noAddress, server: nil, question: Question(name: name, type: .a),
                        "the nameserver \(name) has no address (\(place): \(why.joined(separator: "; ")))"))
                continue
            }
            servers += found.map { AuthoritativeServer(name: name, address: NameserverAddress($0, port: port)) }
        }
        guard problems.isEmpty else { throw ZoneReadError(zone: zone, what: what, problems: problems) }
        return servers
    }

    /// `name` `type` through the resolver; records at the name or at the end of a CNAME chain.
    func resolve(_ name: DomainName, _ type: RRType) async -> Result<[Record], ZoneReadError.Problem> {
        let question = Question(name: name, type: type)
        guard let resolver else {
            return .failure(ZoneReadError.Problem(.noAddress, server: nil, question: question, "no resolver is configured"))
        }
        let asked = AuthoritativeServer(address: resolver)
        do {
            let message = try await lookup.query(name, type, server: resolver, recursionDesired: true, transport: .udpThenTCP)
            guard message.rcode == .noError || message.rcode == .nxDomain else {
                return .failure(
                    ZoneReadError.Problem(
                        .failed, server: asked, question: question, "the resolver \(resolver) answered \(question.text) with \(message.rcode)"))
            }
            return .success(message.rcode == .noError ? message.answers(name, type) : [])
        } catch {
            let detail = (error as? DNSLookupError)?.detail ?? "\(error)"
            return .failure(
                ZoneReadError.Problem(.unreachable, server: asked, question: question, "the resolver \(resolver) did not answer \(question.text): \(detail)"))
        }
    }
}
