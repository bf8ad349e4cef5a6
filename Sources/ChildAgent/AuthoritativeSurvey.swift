import DNSWire

/// Asks several authoritative servers the same questions directly (RD=0, over TCP) and finds
/// what they agree on: the engine behind ``ChildApexReader`` and ``ParentDelegationReader``.
///
/// Servers are asked concurrently, each one's questions in order; a server that does not answer
/// one question is not asked the rest (it is unreachable, and waiting for each timeout again
/// only delays the report).
struct AuthoritativeSurvey: Sendable {
    typealias Problem = ZoneReadError.Problem
    /// Turns one reply into the records that answer the question, or a problem.
    typealias Reading = @Sendable (Message, Question, AuthoritativeServer) -> Result<[Record], Problem>

    let lookup: any DNSLookup

    /// What each server said to each question, in the order of `servers`.
    struct Answers: Sendable {
        let server: AuthoritativeServer
        var results: [Question: Result<[Record], Problem>] = [:]
        var unreachable: Bool {
            results.values.contains { if case .failure(let problem) = $0 { problem.code == .unreachable } else { false } }
        }
    }

    func ask(_ questions: [Question], of servers: [AuthoritativeServer], read: @escaping Reading) async -> [Answers] {
        await withTaskGroup(of: (Int, Answers).self) { group in
            for (index, server) in servers.enumerated() {
                group.addTask {
                    var answers = Answers(server: server)
                    for question in questions {
                        let result = await ask(question, of: server, read: read)
                        answers.results[question] = result
                        if case .failure(let problem) = result, problem.code == .unreachable { break }
                    }
                    return (index, answers)
                }
            }
            var collected: [(Int, Answers)] = []
            for await answer in group { collected.append(answer) }
            return collected.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    func ask(_ question: Question, of server: AuthoritativeServer, read: Reading) async -> Result<[Record], Problem> {
        do {
            let message = try await lookup.query(question.name, question.type, server: server.address, recursionDesired: false, transport: .tcp)
            return read(message, question, server)
        } catch {
            let detail = (error as? DNSLookupError).map { $0.code == .noAnswer ? $0.detail : "\($0.code): \($0.detail)" } ?? "\(error)"
            return .failure(Problem(.unreachable, server: server, question: question, "\(server) did not answer \(question.text): \(detail)"))
        }
    }

    // MARK: Readings

    /// The authoritative answer's records at the question's name and type: NOERROR or NXDOMAIN
    /// with AA set (RFC 1035 §4.1.1), anything else a problem. With `apex`, NXDOMAIN is a
    /// problem too (a zone's apex always exists).
    static func authoritative(apex: Bool) -> Reading {
        { message, question, server in
            if let problem = rcodeProblem(message, question, server) { return .failure(problem) }
            if apex, message.rcode == .nxDomain {
                return .failure(
                    Problem(
                        .failed, server: server, question: question,
                        "\(server) answered \(question.text) with NXDOMAIN: it does not serve the zone \(question.name)"))
            }
            guard message.header.aa else {
                return .failure(
                    Problem(
                        .notAuthoritative, server: server, question: question,
                        "\(server) answered \(question.text) without the AA bit: it does not serve the zone authoritatively (check its configuration and the NS set)"
                    ))
            }
            return .success(message.answer.filter { $0.name == question.name && $0.type == question.type })
        }
    }

    /// Anything but NOERROR and NXDOMAIN is a problem.
    static func rcodeProblem(_ message: Message, _ question: Question, _ server: AuthoritativeServer) -> Problem? {
        guard message.rcode != .noError, message.rcode != .nxDomain else { return nil }
        let hint = message.rcode == .refused ? " (is it authoritative for the zone?)" : ""
        return Problem(.failed, server: server, question: question, "\(server) answered \(question.text) with \(message.rcode)\(hint)")
    }

    // MARK: Agreement

    /// The data most servers serve for `question` (ties go to the earlier server), and a
    /// ``ZoneReadError/Problem/Code/differs`` for every server serving something else. Records
    /// compare by owner (case-insensitively), type and RDATA; TTLs may differ.
    static func agree(on question: Question, _ answers: [(server: AuthoritativeServer, records: [Record])]) -> (records: [Record], problems: [Problem]) {
        guard !answers.isEmpty else { return ([], []) }
        var groups: [(key: Set<RecordKey>, members: [Int])] = []
        for (index, answer) in answers.enumerated() {
            let key = Set(answer.records.map(RecordKey.init))
            if let at = groups.firstIndex(where: { $0.key == key }) {
                groups[at].members.append(index)
            } else {
                groups.append((key, [index]))
            }
        }
        // The largest group wins; of equal ones, the first (a strictly larger count replaces it).
        var winner = groups[0]
        for group in groups.dropFirst() where group.members.count > winner.members.count { winner = group }
        let reference = answers[winner.members[0]]
        var problems: [Problem] = []
        for group in groups where group.key != winner.key {
            for index in group.members {
                let server = answers[index].server
                let missing = canonical(reference.records.filter { !group.key.contains(RecordKey($0)) })
                let extra = canonical(answers[index].records.filter { !winner.key.contains(RecordKey($0)) })
                var parts: [String] = []
                if !extra.isEmpty { parts.append("it serves \(summary(extra)) which \(reference.server) does not") }
                if !missing.isEmpty { parts.append("it lacks \(summary(missing))") }
                let backing = winner.members.count > 1 ? " (as \(winner.members.count) of \(answers.count) servers do)" : ""
                problems.append(
                    Problem(
                        .differs, server: server, question: question,
                        "\(server) serves \(question.text) differently from \(reference.server)\(backing): \(parts.joined(separator: "; "))",
                        reference: reference.server, missing: missing, extra: extra))
            }
        }
        return (canonical(reference.records), problems)
    }

    /// A record without its TTL, owner lower-cased: what "the same data" means here.
    struct RecordKey: Hashable {
        let name: DomainName
        let type: RRType
        let rdata: [UInt8]
        init(_ record: Record) {
            name = record.name.lowercased
            type = record.type
            rdata = record.rdata
        }
    }

    /// Records without duplicates, in a stable order (owner, type, RDATA).
    static func canonical(_ records: [Record]) -> [Record] {
        var seen: Set<RecordKey> = []
        return records.filter { seen.insert(RecordKey($0)).inserted }.sorted {
            if $0.name != $1.name { return $0.name < $1.name }
            if $0.type != $1.type { return $0.type < $1.type }
            return $0.rdata.lexicographicallyPrecedes($1.rdata)
        }
    }

    /// Short text for records in messages: key tags for DNSKEY, CDNSKEY and KEY.
    static func summary(_ records: [Record]) -> String {
        records.map { record in
            switch record.type {
            case .dnskey, .cdnskey, .key:
                guard let key = try? KEYData(rdata: record.rdata) else { fallthrough }
                return "\(record.name) \(record.type) flags \(key.flags) algorithm \(key.algorithm) tag \(key.keyTag)"
            default:
                return "\(record.name) \(record.type) \(record.rdataPresentation)"
            }
        }.joined(separator: ", ")
    }
}
