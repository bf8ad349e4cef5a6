import DNSWire
import Store
import Transport

/// Sends one DNS message to one server and returns its answer (a `DNSClient` in production).
public typealias NotifySend = @Sendable (_ message: [UInt8], _ host: String, _ port: Int, _ transport: DNSTransportKind) async throws -> [UInt8]

extension ChildSynchronizer {
    /// The types a child may announce (RFC 9859 §4): CDS (which covers CDNSKEY too) and CSYNC.
    public static let notifyTypes: [RRType] = [.cds, .cdnskey, .csync]

    /// Where NOTIFY(`type`) goes: the configured target (a delegsync parent serves both schemes
    /// on the same address), else the DSYNC record of the NOTIFY scheme for `type` (RFC 9859
    /// §4.1; a record with RRtype ANY serves any type).
    public func notifyTarget(type: RRType) async throws -> DSYNCTarget {
        if let target = child.target {
            return DSYNCTarget.configured(parent: child.name.parent, port: UInt16(target.port), addresses: [target.host])
        }
        let found = try await discovery(scheme: .notify, rrType: type).discover(child: child.name)
        progress("DSYNC: \(found)")
        return found
    }

    /// RFC 9859 §4: NOTIFY(`type`) for the child to the parent's NOTIFY target — a hint that its
    /// CDS/CDNSKEY or CSYNC changed; the parent then scans. Over UDP (TCP when the answer is
    /// truncated), each address in turn; when none answers, again after 2 s, doubling, up to
    /// `attempts` times (RFC 1996 §3.6 retransmits too). Returns the parent's answer (NOERROR);
    /// throws ``ChildAgentError`` `.refused` for any other RCODE (with the EDE text),
    /// `.unreachable` when no address answered. The exchange goes to the store's log.
    public func notify(type: RRType, attempts: Int = 4, send: NotifySend? = nil) async throws -> ParentReply {
        guard Self.notifyTypes.contains(type) else {
            throw ChildAgentError(.configuration, "NOTIFY(\(type)) is not a generalized NOTIFY; use CDS, CDNSKEY or CSYNC (RFC 9859 §4)")
        }
        let target = try await notifyTarget(type: type)
        let send =
            send ?? { message, host, port, transport in
                try await DNSClient(timeout: .seconds(3)).exchange(message, host: host, port: port, transport: transport)
            }
        var header = Header()
        header.id = UInt16.random(in: 0...UInt16.max)
        header.opcode = .notify
        header.aa = true
        let request = Message(header: header, question: [Question(name: child.name, type: type)], edns: EDNS())
        let bytes = try request.wireFormat()
        var problems: [String] = []
        var wait: Duration = .seconds(2)
        for attempt in 1...max(1, attempts) {
            for endpoint in target.endpoints {
                do {
                    var answer = try Message(wire: try await send(bytes, endpoint.host, endpoint.port, .udp))
                    if answer.header.tc { answer = try Message(wire: try await send(bytes, endpoint.host, endpoint.port, .tcp)) }
                    guard answer.id == request.id, answer.header.qr, answer.opcode == .notify, answer.question == request.question else {
                        problems.append("\(endpoint): the answer does not match the NOTIFY")
                        continue
                    }
                    // Not authenticated: a NOTIFY is a hint, its answer decides nothing.
                    let reply = ParentReply(rcode: answer.rcode, error: answer.edns?.extendedError, keyState: nil, authenticated: false, server: endpoint)
                    record(type: type, endpoint: "\(endpoint)", decision: "\(answer.rcode)", reason: reply.error?.extraText ?? "")
                    progress("NOTIFY(\(type)) to \(endpoint): the parent answered \(reply)")
                    guard answer.rcode == .noError else {
                        throw ChildAgentError(.refused, "the parent refused NOTIFY(\(type)) for \(child.name): \(reply)")
                    }
                    return reply
                } catch let error as ChildAgentError {
                    throw error
                } catch {
                    problems.append("\(endpoint): \(error)")
                }
            }
            if attempt < attempts {
                progress("NOTIFY(\(type)): no answer (attempt \(attempt) of \(attempts)); again in \(wait)")
                try await Task.sleep(for: wait)
                wait *= 2
            }
        }
        record(type: type, endpoint: target.endpoints.first.map { "\($0)" } ?? "-", decision: "no answer", reason: problems.joined(separator: "; "))
        throw ChildAgentError(.unreachable, "no answer to NOTIFY(\(type)) for \(child.name) from \(target): \(problems.joined(separator: "; "))")
    }

    /// The NOTIFY and its answer in the store's log (`child status` shows it).
    func record(type: RRType, endpoint: String, decision: String, reason: String) {
        _ = try? store.appendAudit(
            AuditEntry(
                time: clock(), source: endpoint, transport: "notify", zone: child.name.parent.description, signer: child.name.description, keyTag: nil,
                request: "NOTIFY \(child.name) \(type)", decision: decision, reason: reason))
    }
}
