import DNSWire

/// How `delegsync status` tells the agent that serves its store from anything else answering on
/// the listen address — a scheme of delegsync's own, in the CHAOS class where servers answer
/// `version.bind.` and `id.server.` (RFC 4892 §2):
///
/// - the question: QUERY, class CH, type TXT, name `<nonce>.status.delegsync.`, the nonce 32
///   hex digits (128 bits) drawn at random for each query;
/// - the answer: NOERROR with AA and one `CH TXT` record at that name holding three strings:
///   `delegsync`, the agent's version, and the proof — HMAC-SHA-256 (RFC 2104) under the
///   store's status secret (``DelegationStore/statusSecret()``) of
///   `status <name in lower case> <version>`, in hex.
///
/// Only a process that holds the store's secret can answer a fresh nonce: another program on the
/// address, a copy of an old answer, or another delegsync agent with another store cannot. The
/// agent answers these questions without an audit entry (they come from monitoring, often).
///
/// Limitations: the answer is not a proof against someone who can read the store (the secret is
/// in it), and it says nothing about the other listen addresses, which are asked one by one.
public enum StatusProbe {
    /// `status.delegsync.`, the name the nonce goes under.
    public static let suffix: [[UInt8]] = [Array("status".utf8), Array("delegsync".utf8)]

    /// A question with a fresh nonce (RD clear: nothing to recurse for).
    public static func query(id: UInt16, nonce: [UInt8]) throws -> Message {
        var message = Message(question: [Question(name: try DomainName(labels: [Array(nonce.hexString.utf8)] + suffix), type: .txt, qclass: .ch)])
        message.id = id
        return message
    }

    /// The name of a status question: a QUERY with one question, CH TXT, one label of 32 hex
    /// digits under `status.delegsync.`.
    static func name(asked message: Message) -> DomainName? {
        guard message.opcode == .query, message.question.count == 1, let question = message.question.first,
            question.qclass == .ch, question.type == .txt
        else { return nil }
        let labels = question.name.labels
        guard labels.count == 3, labels.dropFirst().map({ Array($0).map(lower) }) == suffix,
            labels[0].count == 32, [UInt8](hex: String(decoding: labels[0], as: UTF8.self)) != nil
        else { return nil }
        return question.name
    }

    /// The answer record: `delegsync`, the version, the proof.
    static func answer(name: DomainName, version: String, secret: [UInt8]) -> Record {
        let strings = ["delegsync", version, proof(name: name, version: version, secret: secret)]
        return Record(name: name, type: .txt, rrClass: .ch, ttl: 0, rdata: strings.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) })
    }

    static func proof(name: DomainName, version: String, secret: [UInt8]) -> String {
        SHA256.hmac(Array("status \(name.lowercased) \(version)".utf8), key: secret).hexString
    }

    /// What a reply to a status question says.
    public enum Verdict: Sendable, Equatable {
        /// The agent that serves the store whose secret was given, at this version.
        case thisAgent(version: String)
        /// A delegsync agent, but its proof is not made with this store's secret.
        case otherAgent(version: String)
        /// Something else: what it answered.
        case somethingElse(String)
    }

    /// Judges `reply` to `query`. Without a secret (no store to read it from) nothing can be
    /// proven, so at best it is ``Verdict/otherAgent(version:)``.
    public static func verdict(reply bytes: [UInt8], to query: Message, secret: [UInt8]?) -> Verdict {
        let reply: Message
        do {
            reply = try Message(wire: bytes)
        } catch {
            return .somethingElse("not a DNS message (\(error))")
        }
        guard reply.header.qr else { return .somethingElse("the question sent back, not an answer (QR clear)") }
        guard reply.id == query.id, reply.question == query.question else { return .somethingElse("a reply that does not match the question") }
        guard reply.rcode == .noError else { return .somethingElse("\(reply.rcode) to CH TXT \(query.question[0].name)") }
        guard let name = query.question.first?.name,
            let record = reply.answer.first(where: { $0.type == .txt && $0.rrClass == .ch && $0.name == name }),
            let strings = characterStrings(record.rdata), strings.count == 3, strings[0] == "delegsync"
        else { return .somethingElse("NOERROR, but no delegsync answer to CH TXT \(query.question[0].name)") }
        let version = strings[1]
        guard let secret, strings[2] == proof(name: name, version: version, secret: secret) else { return .otherAgent(version: version) }
        return .thisAgent(version: version)
    }

    /// The <character-string>s of TXT RDATA (RFC 1035 §3.3.14), or nil when malformed.
    static func characterStrings(_ rdata: [UInt8]) -> [String]? {
        var strings: [String] = []
        var index = 0
        while index < rdata.count {
            let length = Int(rdata[index])
            guard index + 1 + length <= rdata.count else { return nil }
            strings.append(String(decoding: rdata[(index + 1)..<(index + 1 + length)], as: UTF8.self))
            index += 1 + length
        }
        return strings
    }

    static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
}
