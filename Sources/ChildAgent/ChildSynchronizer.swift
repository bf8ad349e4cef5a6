import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store
import Transport

/// The child agent's work for one child zone: find the parent's UPDATE receiver, read what the
/// child's own servers say and what the parent serves, and send the difference as one
/// SIG(0)-signed UPDATE over TCP (the DDNS draft); bootstrap the key first (self-signed upload,
/// then KeyState inquiries until the parent trusts it).
///
/// What it sends and what the parent answered goes to the store's log; the child's keys and
/// their state at the parent (known, trusted, revoked) to its key table.
public struct ChildSynchronizer: Sendable {
    public let configuration: ChildConfiguration
    public let child: ChildConfiguration.Child
    public let store: any ChildAgentStore
    public let lookup: any DNSLookup
    public let clock: @Sendable () -> Int64
    /// Progress lines ("round 2 of 3 passed", "sent: …"), for the terminal.
    public let progress: @Sendable (String) -> Void
    /// Passing updates of the same state (a countdown): a terminal may show them in place;
    /// elsewhere they are dropped.
    public let ticker: @Sendable (String) -> Void
    /// Port of the child's and the parent's authoritative servers when taken from NS records.
    public let nameserverPort: Int

    public init(
        configuration: ChildConfiguration, child: ChildConfiguration.Child, store: any ChildAgentStore,
        lookup: any DNSLookup = DNSClientLookup(timeout: .seconds(5)),
        nameserverPort: Int = 53, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
        progress: @escaping @Sendable (String) -> Void = { _ in }, ticker: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.ticker = ticker
        self.configuration = configuration
        self.child = child
        self.store = store
        self.lookup = lookup
        self.nameserverPort = nameserverPort
        self.clock = clock
        self.progress = progress
    }

    var keyRing: ChildKeyRing { ChildKeyRing(directory: configuration.keyDirectory) }

    // MARK: Finding things

    /// The UPDATE receiver: the configured target, else DSYNC discovery (RFC 9859 §4.1).
    public func target() async throws -> DSYNCTarget {
        if let target = child.target {
            return DSYNCTarget.configured(parent: child.name.parent, port: UInt16(target.port), addresses: [target.host])
        }
        let found = try await discovery().discover(child: child.name)
        progress("DSYNC: \(found)")
        return found
    }

    /// DSYNC discovery (RFC 9859 §4.1) through the configured resolver, validated as
    /// `dsync-validation` says.
    func discovery(scheme: DSYNCData.Scheme = .update, rrType: RRType = .any) throws -> DSYNCDiscovery {
        guard let resolver = configuration.resolver else {
            throw ChildAgentError(.configuration, "\(child.name): no target configured and no resolver for DSYNC discovery (set resolver: or target:)")
        }
        return DSYNCDiscovery(lookup: lookup, resolver: resolver, scheme: scheme, rrType: rrType, validation: configuration.dsyncValidation, now: clock())
    }

    /// The child's authoritative servers: the configured list, else every address of the NS
    /// set the primary serves.
    func childServers() async throws -> [AuthoritativeServer] {
        if !child.servers.isEmpty { return child.servers.map { AuthoritativeServer(address: $0) } }
        return try await ZoneNameservers(lookup: lookup, resolver: configuration.resolver, port: nameserverPort).servers(
            of: child.name, askingPrimary: child.primary)
    }

    /// The child's apex as every one of its servers serves it (they must agree).
    public func apex() async throws -> ChildApexRecords {
        try await ChildApexReader(lookup: lookup, resolver: configuration.resolver, nameserverPort: nameserverPort).read(
            child: child.name, servers: childServers())
    }

    /// The parent's current delegation, from the parent's authoritative servers (RD=0).
    public func parentDelegation(parent: DomainName) async throws -> ParentDelegation {
        let servers: [AuthoritativeServer]
        if !child.parentServers.isEmpty {
            servers = child.parentServers.map { AuthoritativeServer(address: $0) }
        } else {
            servers = try await ZoneNameservers(lookup: lookup, resolver: configuration.resolver, port: nameserverPort).servers(of: parent)
        }
        return try await ParentDelegationReader(lookup: lookup).read(child: child.name, parent: parent, servers: servers)
    }

    /// What the parent should change: the difference between its delegation and the child's apex.
    public struct Plan: Sendable {
        public let target: DSYNCTarget
        public let current: DelegationSnapshot
        public let apex: ChildApexRecords
        public let diff: DelegationDiff

        /// The UPDATE as nsupdate text (`--dry-run`), empty when nothing differs.
        public var nsupdateText: String {
            NSUpdateScript(update: Update(zone: target.parent, operations: diff.operations)).text
        }
    }

    public func plan() async throws -> Plan {
        try await plan(target: try await target())
    }

    /// The plan against the parent `target` belongs to (the UPDATE receiver, or for the NOTIFY
    /// scheme the NOTIFY target: both name the same parent zone).
    public func plan(target: DSYNCTarget) async throws -> Plan {
        let apex = try await apex()
        let delegation = try await parentDelegation(parent: target.parent)
        guard delegation.isDelegated else {
            throw ChildAgentError(.refused, "\(target.parent) does not delegate \(child.name): the first delegation is set up by the parent's operator")
        }
        let current = try delegation.snapshot()
        let diff = try DelegationDiff(current: current, apex: ChildApex(child: child.name, records: apex.records), ttl: child.ttl)
        return Plan(target: target, current: current, apex: apex, diff: diff)
    }

    // MARK: Keys

    /// The key to sign with: the newest the parent trusts, else the newest key pair.
    public func signingKey(parent: DomainName) throws -> BINDKeyFile {
        let pairs = try keyRing.keys(of: child.name)
        guard !pairs.isEmpty else {
            throw ChildAgentError(.configuration, "no key pair for \(child.name) in \(configuration.keyDirectory): run delegsync child keygen \(child.name)")
        }
        let trusted = Set(try store.keys(zone: parent, child: child.name).filter { $0.state == .trusted }.map(\.keyTag))
        return pairs.last { trusted.contains($0.keyTag) } ?? pairs[pairs.count - 1]
    }

    func remember(_ key: BINDKeyFile, parent: DomainName, state: KeyTrustState, origin: String) throws {
        try store.putKey(
            StoredKey(
                zone: parent, child: child.name, keyTag: key.keyTag, algorithm: key.keyData.algorithm, rdata: key.keyData.rdata, state: state, addedAt: clock(),
                origin: origin))
    }

    func channel(_ target: DSYNCTarget) throws -> ParentChannel {
        let receiverKey = try child.receiverKeyFile.map { try BINDKeyFile.load(path: $0) }
        return try ParentChannel(endpoints: target.endpoints, receiverKey: receiverKey)
    }

    /// Sends one signed message, logs it with the answer, and returns the answer.
    func exchange(_ update: Update, key: BINDKeyFile, target: DSYNCTarget, keyState: KeyStateOption.State? = nil) async throws -> ParentReply {
        let options = keyState.map { [KeyStateOption(keyID: key.keyTag, state: $0).option()] } ?? []
        let message = update.message(id: UInt16.random(in: 0...UInt16.max), edns: EDNS(options: options))
        let now = clock()
        let signed = try SIG0Signer(keyFile: key).sign(message.wireFormat(), now: UInt32(truncatingIfNeeded: now))
        let text = update.operations.map(\.description).joined(separator: "\n")
        progress("sending to \(target.endpoints.map(\.description).joined(separator: ", ")) over TCP, signed by key \(key.keyTag):\n\(text)")
        do {
            let reply = try await channel(target).send(signed, now: UInt32(truncatingIfNeeded: now))
            log(now: now, target: target, key: key, request: text, decision: "\(reply.rcode)", reason: reply.error?.extraText ?? "")
            progress("the parent answered \(reply)")
            return reply
        } catch {
            log(now: now, target: target, key: key, request: text, decision: "no answer", reason: "\(error)")
            throw error
        }
    }

    func log(now: Int64, target: DSYNCTarget, key: BINDKeyFile, request: String, decision: String, reason: String) {
        _ = try? store.appendAudit(
            AuditEntry(
                time: now, source: target.endpoints.first?.description ?? "-", transport: "tcp", zone: target.parent.description,
                signer: child.name.description, keyTag: key.keyTag, request: request, decision: decision, reason: reason))
    }
}

/// A child-agent failure: configuration, the parent unreachable or its answer not believed,
/// the parent refusing in a way retrying will not fix, a bootstrap still pending.
public struct ChildAgentError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case configuration, refused, unreachable, pending, notTrusted
        /// The parent refused because the key's bootstrap has not finished (waiting helps).
        case notYetTrusted
        /// The parent's answer does not parse, or is not signed by the receiver's key.
        case malformed, unauthenticated
    }
    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail }
}
