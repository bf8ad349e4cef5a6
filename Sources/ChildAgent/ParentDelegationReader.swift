import DNSWire

/// Reads what the parent currently holds for a child from the parent's authoritative servers,
/// directly (RD=0, over TCP), the way a resolver sees the zone cut:
///
/// - `child NS`: a referral (RFC 1034 §4.3.2: NS in the authority section, AA clear), glue for
///   names at or below the child in the additional section (RFC 9471). A server that also serves
///   the child's zone answers from the child's apex instead (AA set, NS in the answer); that is
///   accepted like the agent's own reader does.
/// - `child DS`: answered by the parent, with AA (RFC 4035 §3.1.4.1).
/// - `child KEY`: BIND answers a KEY stored at the delegation with AA; Knot refers (the data is
///   occluded), which reads as no KEY.
///
/// Every server given must serve the same data; the error names a server that differs.
///
/// Limitations: only glue at or below the child is kept (what ``DelegationSnapshot`` tracks);
/// a child below a further zone cut of the parent (`a.b.parent.` with `b.parent.` delegated)
/// is reported as a non-authoritative answer.
public struct ParentDelegationReader: Sendable {
    public let lookup: any DNSLookup

    public init(lookup: any DNSLookup) {
        self.lookup = lookup
    }

    /// Reads the delegation of `child` in `parent` from each of `servers` (the parent's primary
    /// from the configuration, or ``ZoneNameservers/servers(of:)`` for all of them).
    public func read(child: DomainName, parent: DomainName, servers: [AuthoritativeServer]) async throws -> ParentDelegation {
        let what = "the delegation of \(child) in \(parent)"
        guard !servers.isEmpty else {
            throw ZoneReadError(zone: parent, what: what, problems: [ZoneReadError.Problem(.noNameservers, server: nil, question: nil, "no servers to ask")])
        }
        guard child.isSubdomain(of: parent), child.labelCount > parent.labelCount else {
            throw ZoneReadError(
                zone: parent, what: what, problems: [ZoneReadError.Problem(.invalid, server: nil, question: nil, "\(child) is not below \(parent)")])
        }
        let questions = [Question(name: child, type: .ns), Question(name: child, type: .ds), Question(name: child, type: .key)]
        let answers = await AuthoritativeSurvey(lookup: lookup).ask(questions, of: servers) { message, question, server in
            switch question.type {
            case .ns: Self.readReferral(message, question, server)
            case .ds: AuthoritativeSurvey.authoritative(apex: false)(message, question, server)
            default: Self.readAtDelegation(message, question, server)
            }
        }
        var problems: [ZoneReadError.Problem] = []
        var records: [Record] = []
        for answer in answers {
            problems += answer.results.values.compactMap { if case .failure(let problem) = $0 { problem } else { nil } }
        }
        for question in questions {
            let data = answers.compactMap { answer -> (server: AuthoritativeServer, records: [Record])? in
                guard case .success(let records)? = answer.results[question] else { return nil }
                return (answer.server, records)
            }
            let outcome = AuthoritativeSurvey.agree(on: question, data)
            records += outcome.records
            problems += outcome.problems
        }
        guard problems.isEmpty else {
            throw ZoneReadError(zone: parent, what: what, problems: ChildApexReader.ordered(problems, servers: servers, questions: questions))
        }
        return ParentDelegation(parent: parent, child: child, servers: servers, records: AuthoritativeSurvey.canonical(records))
    }

    /// NS at the child and glue at or below it, from a referral or (co-hosted child) an
    /// authoritative answer; an authoritative answer without NS at the child means "not
    /// delegated" (no records).
    static func readReferral(_ message: Message, _ question: Question, _ server: AuthoritativeServer) -> Result<[Record], ZoneReadError.Problem> {
        if let problem = AuthoritativeSurvey.rcodeProblem(message, question, server) { return .failure(problem) }
        let child = question.name
        let ns = (message.answer + message.authority).filter { $0.type == .ns && $0.name == child }
        guard !ns.isEmpty || message.header.aa else {
            let cut = message.authority.first { $0.type == .ns }.map { " (it refers to \($0.name))" } ?? ""
            return .failure(
                ZoneReadError.Problem(
                    .notAuthoritative, server: server, question: question,
                    "\(server) answered \(question.text) without AA and without a referral for \(child)\(cut): it does not serve the parent zone"))
        }
        let glue = message.additional.filter { ($0.type == .a || $0.type == .aaaa) && $0.name.isSubdomain(of: child) }
        return .success(ns + glue)
    }

    /// A record the parent stores at the delegation point: AA answers count, a referral reads as
    /// none, anything else is a problem.
    static func readAtDelegation(_ message: Message, _ question: Question, _ server: AuthoritativeServer) -> Result<[Record], ZoneReadError.Problem> {
        if let problem = AuthoritativeSurvey.rcodeProblem(message, question, server) { return .failure(problem) }
        if message.header.aa {
            return .success(message.answer.filter { $0.name == question.name && $0.type == question.type })
        }
        if message.authority.contains(where: { $0.type == .ns && $0.name == question.name }) { return .success([]) }
        return .failure(
            ZoneReadError.Problem(
                .notAuthoritative, server: server, question: question,
                "\(server) answered \(question.text) without AA and without a referral: it does not serve the parent zone"))
    }
}
