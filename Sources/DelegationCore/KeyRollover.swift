import DNSWire

/// A child's KEY change signed by its trusted key (the DDNS draft's key rollover): which keys
/// become trusted, which are revoked, and whether the child keeps at least one. Pure: the
/// caller applies it to the trust store once the change is committed.
///
/// - `add CHILD KEY …` (RFC 2136 §2.5.1) makes that key trusted (the UPDATE is signed by a key
///   the parent already trusts, so trust carries over);
/// - `delete CHILD KEY …` (§2.5.4) revokes that key; `delete CHILD KEY` (§2.5.2) or
///   `delete CHILD ANY` (§2.5.3) revokes every key the same UPDATE does not add;
/// - a change that would leave the child without a trusted key is refused: the child would lock
///   itself out and only the parent's operator could let it back in.
public struct KeyRollover: Sendable, Hashable {
    /// KEY RDATAs to trust.
    public let added: [[UInt8]]
    /// KEY RDATAs to revoke.
    public let revoked: [[UInt8]]

    /// Whether the operations touch KEY records at `child` (cheap; no trust store needed).
    public static func touchesKeys(_ operations: [Update.Operation], child: DomainName) -> Bool {
        operations.contains { operation in
            guard operation.name == child else { return false }
            switch operation {
            case .add(let record), .delete(let record): return record.type == .key
            case .deleteRRset(_, let type): return type == .key
            case .deleteName: return true
            }
        }
    }

    /// `nil` when the operations do not touch KEY records at `child`.
    public init?(operations: [Update.Operation], child: DomainName, trusted: Set<[UInt8]>) throws(PolicyViolation) {
        var added: [[UInt8]] = []
        var revoked: Set<[UInt8]> = []
        var touched = false
        for operation in operations where operation.name == child {
            switch operation {
            case .add(let record) where record.type == .key:
                touched = true
                added.append(record.rdata)
            case .delete(let record) where record.type == .key:
                touched = true
                revoked.insert(record.rdata)
            case .deleteRRset(_, .key), .deleteName:
                touched = true
                revoked.formUnion(trusted)
            default:
                continue
            }
        }
        guard touched else { return nil }
        let addedSet = Set(added)
        revoked.subtract(addedSet)
        let remaining = trusted.subtracting(revoked).union(addedSet)
        guard !remaining.isEmpty else {
            throw PolicyViolation(rule: "key-lockout", "this change would leave the child without a trusted key; add the new KEY before deleting the old one")
        }
        self.added = added.filter { !trusted.contains($0) }
        self.revoked = revoked.filter { trusted.contains($0) }.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
