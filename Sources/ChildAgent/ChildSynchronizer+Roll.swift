import Backends
import DNSWire
import DelegationCore
import Foundation
import SIG0
import Store

extension ChildSynchronizer {
    /// Adds (or removes) `key` at the child's apex: RFC 2136 with TSIG to the child's primary,
    /// or, with `publish: print`, the nsupdate text for the operator (returned, nothing sent).
    @discardableResult
    public func publish(_ key: BINDKeyFile, remove: Bool = false) async throws -> String? {
        var update = Update(zone: child.name)
        let record = Record(name: child.name, type: .key, ttl: child.ttl, rdata: key.keyData.rdata)
        if remove { update.delete(record) } else { update.add(record) }
        switch child.publish {
        case .print:
            return NSUpdateScript(update: update, server: (child.primary.host, UInt16(child.primary.port))).text
        case .rfc2136(let keyFile):
            let tsig = try keyFile.map { try TSIGKey.load(path: $0) }
            try await RFC2136Backend(server: child.primary.host, port: child.primary.port, key: tsig).apply(update)
            progress(
                "\(remove ? "removed" : "published") \(child.name) KEY \(key.keyTag) at \(child.primary) (RFC 2136\(tsig.map { ", TSIG \($0.name)" } ?? ""))")
            return nil
        }
    }

    /// Key rollover (the DDNS draft): a new key, published in the child; an UPDATE adding it,
    /// signed by the trusted key; once the parent trusts it, an UPDATE deleting the old key,
    /// signed by the new one; then the old key leaves the child zone and the key directory.
    ///
    /// Safe to run again after any interruption: two trusted keys mean a rollover half done
    /// (it goes on with the delete), a key newer than the trusted one that the parent has not
    /// seen is reused rather than another made.
    public func roll() async throws -> (old: UInt16, new: UInt16) {
        let target = try await target()
        let parent = target.parent
        let pairs = try keyRing.keys(of: child.name)
        let stored = try store.keys(zone: parent, child: child.name)
        func state(_ key: BINDKeyFile) -> KeyTrustState? { stored.first { $0.rdata == key.keyData.rdata }?.state }
        let trusted = pairs.filter { state($0) == .trusted }
        guard let old = trusted.first else {
            throw ChildAgentError(.configuration, "no key of \(child.name) is trusted at \(parent): run delegsync child bootstrap first")
        }
        let new: BINDKeyFile
        if trusted.count > 1 {
            new = trusted[trusted.count - 1]
            progress("a rollover from key \(old.keyTag) to key \(new.keyTag) is half done: going on")
        } else if let index = pairs.firstIndex(where: { $0.keyData.rdata == old.keyData.rdata }),
            let fresh = pairs[(index + 1)...].last(where: { state($0) == nil || state($0) == .known })
        {
            new = fresh
            progress("reusing key \(new.keyTag), made earlier and not yet trusted")
        } else {
            new = try keyRing.generate(child: child.name, algorithm: child.algorithm)
            progress("new key \(new.keyTag) (\(new.algorithm))")
        }
        if let text = try await publish(new) { progress("publish this in the child zone, then run roll again if it stops:\n\(text)") }

        if state(new) != .trusted {
            let record = Record(name: child.name, type: .key, ttl: child.ttl, rdata: new.keyData.rdata)
            let reply = try await exchange(Update(zone: parent, operations: [.add(record)]), key: old, target: target)
            guard reply.rcode == .noError else { throw ChildAgentError(.refused, "the parent refused the new key \(new.keyTag): \(reply)") }
            try remember(new, parent: parent, state: .trusted, origin: "rollover")
        }
        let oldRecord = Record(name: child.name, type: .key, ttl: child.ttl, rdata: old.keyData.rdata)
        let reply = try await exchange(Update(zone: parent, operations: [.delete(oldRecord)]), key: new, target: target)
        guard reply.rcode == .noError else { throw ChildAgentError(.refused, "the parent refused to remove the old key \(old.keyTag): \(reply)") }
        try remember(old, parent: parent, state: .revoked, origin: "rollover")
        if let text = try await publish(old, remove: true) { progress("remove the old key from the child zone:\n\(text)") }
        try keyRing.retire(old)
        progress("rollover done: key \(new.keyTag) is trusted, key \(old.keyTag) is revoked and retired")
        return (old.keyTag, new.keyTag)
    }
}
