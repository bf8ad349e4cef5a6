import DNSWire
import DaemonSupport
import DelegationCore
import Transport

/// Where the agent reaches one of a child's nameservers: the parent's glue for a name inside
/// the child (RFC 9471 in-domain), the zone's `bootstrap.resolver` (RD=1, TCP) for a name
/// outside it. Shared by the bootstrap rounds and the content checks.
struct NameserverAddresses: Sendable {
    let exchange: DNSExchange
    /// The zone's `bootstrap.resolver`; nil when none is configured.
    let resolver: AgentConfiguration.Listen?

    /// Why a nameserver has no address; the text is `no address known for NAME (why)`.
    struct Missing: Error, Sendable, CustomStringConvertible {
        let description: String
    }

    /// The nameserver's addresses, sorted: its glue when there is any, else (outside the child)
    /// what the resolver answers. Fails, saying why, when that leaves none or when the resolver
    /// could not answer for an address family (asking fewer addresses than the child has must
    /// fail a bootstrap round, and must not pass a content check).
    func lookup(_ nameserver: DomainName, child: DomainName, glue: Set<DelegationSnapshot.GlueAddress>) async -> Result<[String], Missing> {
        var addresses = glue.compactMap { IPAddressText.text(type: $0.type, rdata: $0.rdata) }.sorted()
        if addresses.isEmpty, !nameserver.isSubdomain(of: child), let resolver {
            do {
                addresses = try await resolve(nameserver, with: resolver)
            } catch {
                return .failure(Missing(description: "no address known for \(nameserver) (\(error))"))
            }
        }
        guard addresses.isEmpty else { return .success(addresses) }
        let why =
            nameserver.isSubdomain(of: child)
            ? "no glue in the parent" : (resolver == nil ? "outside the child and no resolver configured" : "the resolver knows no address")
        return .failure(Missing(description: "no address known for \(nameserver) (\(why))"))
    }

    /// A and AAAA of an out-of-bailiwick nameserver from the resolver (RD=1, TCP). Only a clean
    /// answer counts: NOERROR, with or without addresses of the type (RFC 2308 NODATA), or
    /// NXDOMAIN for the name. Any other RCODE, no answer, or one that does not match the query
    /// throws ``ResolverLookupError``: a family that cannot be looked up is not a family without
    /// addresses.
    func resolve(_ name: DomainName, with resolver: AgentConfiguration.Listen) async throws(ResolverLookupError) -> [String] {
        var found: [String] = []
        for type in [RRType.a, .aaaa] {
            let reply: Message
            do {
                reply = try await DirectQuery.ask(name, type, at: resolver.address, port: resolver.port, recursionDesired: true, exchange: exchange)
            } catch {
                throw ResolverLookupError(resolver: resolver, name: name, type: type, problem: "\(error)")
            }
            switch reply.rcode {
            case .noError:
                found += reply.answer.filter { $0.type == type }.compactMap { IPAddressText.text(type: $0.type, rdata: $0.rdata) }
            case .nxDomain:
                continue
            default:
                throw ResolverLookupError(resolver: resolver, name: name, type: type, problem: "\(reply.rcode)")
            }
        }
        return found.sorted()
    }
}

/// The configured resolver could not say which addresses a nameserver has.
struct ResolverLookupError: Error, CustomStringConvertible {
    let resolver: AgentConfiguration.Listen
    let name: DomainName
    let type: RRType
    let problem: String

    var description: String {
        let at = resolver.port == 53 ? resolver.address : "\(resolver.address) port \(resolver.port)"
        return "the resolver \(at) could not look up \(name) \(type): \(problem)"
    }
}

/// One question sent straight to one server over TCP with EDNS(0) (RFC 6891): RD=0 towards an
/// authoritative server, RD=1 towards a resolver (RFC 1035 §4.1.1), the DO bit (RFC 3225) as
/// asked, CD (RFC 4035 §3.2.2) when the agent validates the answer itself. The reply must carry
/// the query's ID, QR and question (RFC 5452 §9.1); its RCODE is data for the caller.
enum DirectQuery {
    /// Why no usable reply came back.
    struct Failure: Error, Sendable, CustomStringConvertible {
        let description: String
    }

    static func ask(
        _ name: DomainName, _ type: RRType, at address: String, port: Int, recursionDesired: Bool = false, dnssecOK: Bool = false,
        checkingDisabled: Bool = false, exchange: DNSExchange
    ) async throws -> Message {
        var header = Header()
        header.id = UInt16.random(in: 0...UInt16.max)
        header.rd = recursionDesired
        // RFC 4035 §3.2.2: the resolver hands over what it has even when it cannot validate it;
        // the agent validates itself.
        header.cd = checkingDisabled
        let query = Message(header: header, question: [Question(name: name, type: type)], edns: EDNS(dnssecOK: dnssecOK))
        let reply = try Message(wire: await exchange(try query.wireFormat(), address, port, .tcp))
        guard reply.id == header.id, reply.header.qr else { throw Failure(description: "the answer does not match the query") }
        guard reply.question == query.question || (reply.question.isEmpty && reply.rcode != .noError) else {
            throw Failure(description: "the answer is for another question")
        }
        return reply
    }
}
