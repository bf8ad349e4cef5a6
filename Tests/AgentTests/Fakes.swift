import Agent
import Backends
import DNSWire
import DelegationCore
import Logging
import NIOConcurrencyHelpers
import SIG0
import Store
import Transport

/// A parent zone in memory: the reader sees what the backend wrote. `reachable = false`
/// simulates the primary being down for both.
final class FakeParent: ParentZoneReader, DelegationBackend, @unchecked Sendable {
    let state: NIOLockedValueBox<(snapshots: [DomainName: DelegationSnapshot], reachable: Bool, applied: Int)>

    init(_ snapshots: [DelegationSnapshot]) {
        state = NIOLockedValueBox((Dictionary(uniqueKeysWithValues: snapshots.map { ($0.child, $0) }), true, 0))
    }

    var description: String { "fake parent" }

    var reachable: Bool {
        get { state.withLockedValue { $0.reachable } }
        set { state.withLockedValue { $0.reachable = newValue } }
    }

    var appliedCount: Int { state.withLockedValue { $0.applied } }

    func snapshot(_ child: DomainName) -> DelegationSnapshot? { state.withLockedValue { $0.snapshots[child] } }

    /// Replaces the delegation of `snapshot.child`, as the parent's operator would.
    func set(_ snapshot: DelegationSnapshot) { state.withLockedValue { $0.snapshots[snapshot.child] = snapshot } }

    func delegation(in zone: AgentConfiguration.Zone, child: DomainName) async throws -> DelegationSnapshot? {
        try state.withLockedValue {
            guard $0.reachable else { throw BackendError("primary unreachable") }
            return $0.snapshots[child]
        }
    }

    func apply(_ update: Update) async throws {
        try state.withLockedValue { value in
            guard value.reachable else { throw BackendError("connection refused") }
            var byChild: [DomainName: [Update.Operation]] = [:]
            for operation in update.operations {
                guard let child = value.snapshots.keys.first(where: { operation.name.isSubdomain(of: $0) }) else { continue }
                byChild[child, default: []].append(operation)
            }
            for (child, operations) in byChild {
                value.snapshots[child] = try value.snapshots[child]!.applying(operations)
            }
            value.applied += 1
        }
    }
}

/// A child's nameservers (and a recursive resolver) in memory, answering through a
/// ``DNSExchange`` as real ones would: each address serves the child zone's records
/// authoritatively (AA, NOERROR or NXDOMAIN, RRSIGs with the DO bit), or misbehaves as told.
/// Every query is recorded, so tests can check what was asked, how and where.
final class FakeChildServers: @unchecked Sendable {
    enum Behaviour: Sendable {
        /// Serves the records authoritatively.
        case authoritative
        /// Answers like a parent: a referral, AA clear.
        case referral
        /// Answers REFUSED (a server that does not serve the zone).
        case refused
        /// Does not answer (connection refused).
        case silent
    }

    struct Asked: Sendable {
        let host: String
        let port: Int
        let question: Question
        let transport: DNSTransportKind
        let recursionDesired: Bool
        let dnssecOK: Bool
    }

    let zone: DomainName
    let resolverAddress: String
    let state: NIOLockedValueBox<(servers: [String: (Behaviour, [Record])], resolved: [DomainName: [Record]], asked: [Asked])>

    init(zone: DomainName, resolverAddress: String = "127.0.0.53") {
        self.zone = zone
        self.resolverAddress = resolverAddress
        state = NIOLockedValueBox(([:], [:], []))
    }

    /// `address` serves `records` (the whole zone) with `behaviour`.
    func serve(_ address: String, _ records: [Record], _ behaviour: Behaviour = .authoritative) {
        state.withLockedValue { $0.servers[address] = (behaviour, records) }
    }

    /// Every address listed serves the same records.
    func serve(_ addresses: [String], _ records: [Record]) {
        for address in addresses { serve(address, records) }
    }

    /// The resolver answers `name` with these A/AAAA records.
    func resolve(_ name: DomainName, _ records: [Record]) {
        state.withLockedValue { $0.resolved[name] = records }
    }

    var asked: [Asked] { state.withLockedValue { $0.asked } }

    var exchange: DNSExchange {
        { [self] bytes, host, port, transport in try self.answer(bytes, host: host, port: port, transport: transport) }
    }

    func answer(_ bytes: [UInt8], host: String, port: Int, transport: DNSTransportKind) throws -> [UInt8] {
        let query = try Message(wire: bytes)
        guard let question = query.question.first else { throw BackendError("no question") }
        let (server, resolved) = state.withLockedValue { value in
            value.asked.append(
                Asked(
                    host: host, port: port, question: question, transport: transport, recursionDesired: query.header.rd,
                    dnssecOK: query.edns?.dnssecOK ?? false))
            return (value.servers[host], value.resolved)
        }
        var reply = query.makeResponse()
        if host == resolverAddress {
            reply.header.ra = true
            // With the DO bit, the RRSIGs that cover the type come along (RFC 4035 §3.2.1).
            reply.answer = (resolved[question.name] ?? []).filter {
                $0.type == question.type
                    || (query.edns?.dnssecOK == true && $0.type == .rrsig && $0.rdata.count >= 2
                        && RRType(UInt16($0.rdata[0]) << 8 | UInt16($0.rdata[1])) == question.type)
            }
            return try reply.wireFormat()
        }
        guard let (behaviour, records) = server, behaviour != .silent else { throw BackendError("connection refused by \(host)") }
        switch behaviour {
        case .refused:
            reply.rcode = .refused
        case .referral:
            reply.authority = [Record(name: zone, type: .ns, ttl: 3600, rdata: try DomainName("ns.elsewhere.example.").wire)]
        case .authoritative, .silent:
            reply.header.aa = true
            let atName = records.filter { $0.name == question.name }
            if atName.isEmpty && !records.contains(where: { $0.name.isSubdomain(of: question.name) }) { reply.rcode = .nxDomain }
            reply.answer = atName.filter { $0.type == question.type }
            if query.edns?.dnssecOK == true {
                reply.answer += atName.filter {
                    $0.type == .rrsig && $0.rdata.count >= 2 && RRType(UInt16($0.rdata[0]) << 8 | UInt16($0.rdata[1])) == question.type
                }
            }
        }
        return try reply.wireFormat()
    }
}

/// A child's self-signed key upload (`delete KEY`, `add KEY`, KeyState 0: automatic bootstrap),
/// over TCP from 192.0.2.7, handled by a receiver for `configuration` over an in-memory store at
/// `now`; returns the reply, the store and a bootstrap worker over the same fakes.
func selfSignedUpload(
    _ newKey: BINDKeyFile, configuration: AgentConfiguration, parent: FakeParent, servers: FakeChildServers, now: Int64
) async throws -> (Message, SQLiteStore, BootstrapWorker) {
    let store = try SQLiteStore.inMemory()
    let receiver = UpdateReceiver(
        configuration: configuration, store: store, backends: [:], reader: parent, contentProbe: ChildContentProbe(exchange: servers.exchange),
        clock: { now }, logger: Logger(label: "test"))
    var update = Update(zone: newKey.owner.parent)
    update.deleteRRset(newKey.owner, .key)
    update.add(newKey.record)
    let edns = EDNS(options: [KeyStateOption(keyID: newKey.keyTag, state: .requestAutoBootstrap).option()])
    let bytes = try SIG0Signer(keyFile: newKey).sign(update.message(id: 5, edns: edns).wireFormat(), now: UInt32(now))
    guard let reply = await receiver.handle(bytes, context: DNSRequestContext(sourceAddress: "192.0.2.7", sourcePort: 4000, transport: .tcp)) else {
        throw BackendError("the receiver did not answer the upload")
    }
    let worker = BootstrapWorker(configuration: configuration, store: store, reader: parent, exchange: servers.exchange, logger: Logger(label: "test"))
    return (try Message(wire: reply), store, worker)
}
