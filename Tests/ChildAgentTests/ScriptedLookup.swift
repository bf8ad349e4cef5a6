import ChildAgent
import DNSWire
import Foundation

/// A fake ``DNSLookup``: answers from a script keyed by `"server name TYPE"` (e.g.
/// `"192.0.2.53 child._dsync.parent. DSYNC"`) and remembers every query. A question the
/// script does not cover gets REFUSED, so a test that forgot one fails visibly.
final class ScriptedLookup: DNSLookup, @unchecked Sendable {
    /// One scripted reply.
    struct Reply: Sendable {
        var rcode: RCode = .noError
        var aa = false
        var answer: [String] = []
        var authority: [String] = []
        var additional: [String] = []
        var timeout = false
        /// The AD bit a validating resolver sets (RFC 4035 §3.2.3).
        var ad = false

        static func records(_ answer: String..., aa: Bool = false) -> Reply { Reply(aa: aa, answer: answer) }
        static func nxDomain(zone: String, aa: Bool = false) -> Reply { Reply(rcode: .nxDomain, aa: aa, authority: [soa(zone)]) }
        static func noData(zone: String, aa: Bool = false) -> Reply { Reply(aa: aa, authority: [soa(zone)]) }
        static func referral(_ authority: [String], glue: [String] = []) -> Reply { Reply(authority: authority, additional: glue) }
        static func rcode(_ rcode: RCode) -> Reply { Reply(rcode: rcode) }
        static let timeout = Reply(timeout: true)

        static func soa(_ zone: String) -> String { "\(zone) 300 IN SOA ns1.\(zone) hostmaster.\(zone) 1 3600 900 604800 300" }
    }

    struct Query: Hashable, Sendable, CustomStringConvertible {
        let name: DomainName
        let type: RRType
        let server: NameserverAddress
        let recursionDesired: Bool
        let transport: LookupTransport
        var key: String { "\(server.host) \(name) \(type)".lowercased() }
        var description: String { "\(server) \(name) \(type) rd=\(recursionDesired ? 1 : 0) \(transport)" }
    }

    private let lock = NSLock()
    private var script: [String: Reply]
    private var asked: [Query] = []

    init(_ script: [String: Reply] = [:]) {
        self.script = Dictionary(script.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
    }

    /// Adds or replaces replies.
    func set(_ more: [String: Reply]) {
        lock.lock()
        defer { lock.unlock() }
        for (key, reply) in more { script[key.lowercased()] = reply }
    }

    var queries: [Query] {
        lock.lock()
        defer { lock.unlock() }
        return asked
    }

    func query(_ name: DomainName, _ type: RRType, server: NameserverAddress, recursionDesired: Bool, transport: LookupTransport) async throws -> Message {
        let query = Query(name: name, type: type, server: server, recursionDesired: recursionDesired, transport: transport)
        let reply = lock.withLock {
            asked.append(query)
            return script[query.key] ?? .rcode(.refused)
        }
        if reply.timeout {
            throw DNSLookupError(.noAnswer, server: server, question: "\(name) \(type)", detail: "timeout over udp: no answer within 5 seconds")
        }
        var header = Header()
        header.qr = true
        header.aa = reply.aa
        header.rd = recursionDesired
        header.ra = recursionDesired
        header.ad = reply.ad
        return Message(
            header: header, question: [Question(name: name, type: type)], answer: try reply.answer.map { try Record($0) },
            authority: try reply.authority.map { try Record($0) }, additional: try reply.additional.map { try Record($0) }, rcode: reply.rcode)
    }
}
