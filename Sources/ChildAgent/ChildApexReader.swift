import DNSWire

/// Reads a child zone's apex from every one of its authoritative servers directly (RD=0, over
/// TCP): the NS, DNSKEY, CDS, CDNSKEY and KEY RRsets, and A/AAAA of the in-bailiwick NS names.
/// Every server must answer with AA and the same data (TTLs aside): the consistency a parent
/// establishes before acting on CDS/CDNSKEY or CSYNC (draft-ietf-dnsop-cds-consistency: query
/// every address of every NS name, abort when they disagree), checked here before the child asks
/// for a change.
///
/// Which servers: the NS set as a given primary serves it (``ZoneNameservers``), or a list from
/// the configuration. A server that does not answer, answers without AA, or serves other data
/// fails the read, and the error names it and says how it differs.
///
/// Limitations: servers are compared with each other, not with a signed zone (no DNSSEC
/// validation); the A/AAAA of in-bailiwick names below a further zone cut are not followed.
public struct ChildApexReader: Sendable {
    public let lookup: any DNSLookup
    /// For NS names outside the child (RD=1); see ``ZoneNameservers``.
    public let resolver: NameserverAddress?
    /// The port the child's servers answer on (53; tests may use another).
    public let nameserverPort: Int

    /// The apex RRsets read from every server, in this order.
    public static let apexTypes: [RRType] = [.ns, .dnskey, .cds, .cdnskey, .key]

    public init(lookup: any DNSLookup, resolver: NameserverAddress? = nil, nameserverPort: Int = 53) {
        self.lookup = lookup
        self.resolver = resolver
        self.nameserverPort = nameserverPort
    }

    /// Finds the child's servers from the NS set `primary` serves, then reads from all of them.
    public func read(child: DomainName, primary: NameserverAddress) async throws -> ChildApexRecords {
        let servers = try await ZoneNameservers(lookup: lookup, resolver: resolver, port: nameserverPort).servers(of: child, askingPrimary: primary)
        return try await read(child: child, servers: servers)
    }

    /// Reads from the given servers (e.g. addresses from the configuration).
    public func read(child: DomainName, servers: [AuthoritativeServer]) async throws -> ChildApexRecords {
        let what = "the apex of \(child)"
        guard !servers.isEmpty else {
            throw ZoneReadError(
                zone: child, what: what, problems: [ZoneReadError.Problem(.noNameservers, server: nil, question: nil, "no servers to ask")])
        }
        let survey = AuthoritativeSurvey(lookup: lookup)
        let apexQuestions = Self.apexTypes.map { Question(name: child, type: $0) }
        var answers = await survey.ask(apexQuestions, of: servers, read: AuthoritativeSurvey.authoritative(apex: true))

        // The in-bailiwick NS names any server listed: every server is asked for all of them,
        // so a server missing one shows up as a difference, not as a gap.
        var glueNames: Set<DomainName> = []
        for answer in answers {
            guard case .success(let records)? = answer.results[apexQuestions[0]] else { continue }
            for record in records {
                if let name = try? DomainName.read(from: record.rdata, at: 0).name, name.isSubdomain(of: child) { glueNames.insert(name) }
            }
        }
        let glueQuestions = glueNames.sorted().flatMap { [Question(name: $0, type: .a), Question(name: $0, type: .aaaa)] }
        let reachable = answers.enumerated().filter { !$0.element.unreachable }
        if !glueQuestions.isEmpty, !reachable.isEmpty {
            let more = await survey.ask(glueQuestions, of: reachable.map(\.element.server), read: AuthoritativeSurvey.authoritative(apex: false))
            for (position, extra) in zip(reachable.map(\.offset), more) {
                answers[position].results.merge(extra.results) { old, _ in old }
            }
        }

        var problems: [ZoneReadError.Problem] = []
        var agreed: [Question: [Record]] = [:]
        for answer in answers {
            problems += answer.results.values.compactMap { if case .failure(let problem) = $0 { problem } else { nil } }
        }
        for question in apexQuestions + glueQuestions {
            let data = answers.compactMap { answer -> (server: AuthoritativeServer, records: [Record])? in
                guard case .success(let records)? = answer.results[question] else { return nil }
                return (answer.server, records)
            }
            let outcome = AuthoritativeSurvey.agree(on: question, data)
            agreed[question] = outcome.records
            problems += outcome.problems
        }
        guard problems.isEmpty else {
            throw ZoneReadError(zone: child, what: what, problems: Self.ordered(problems, servers: servers, questions: apexQuestions + glueQuestions))
        }
        func records(_ type: RRType) -> [Record] { agreed[Question(name: child, type: type)] ?? [] }
        return ChildApexRecords(
            child: child, servers: servers, ns: records(.ns), glue: glueQuestions.flatMap { agreed[$0] ?? [] }, dnskey: records(.dnskey),
            cds: records(.cds), cdnskey: records(.cdnskey), key: records(.key))
    }

    /// Problems by server (in the order asked), then by question: a stable report.
    static func ordered(_ problems: [ZoneReadError.Problem], servers: [AuthoritativeServer], questions: [Question]) -> [ZoneReadError.Problem] {
        func rank(_ problem: ZoneReadError.Problem) -> (Int, Int) {
            let server = problem.server.flatMap { servers.firstIndex(of: $0) } ?? servers.count
            let question = problem.question.flatMap { questions.firstIndex(of: $0) } ?? questions.count
            return (server, question)
        }
        return problems.sorted { rank($0) < rank($1) }
    }
}
