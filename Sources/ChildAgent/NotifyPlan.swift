import DNSWire

/// Which generalized NOTIFYs (RFC 9859 §4) a change of the delegation calls for, and what the
/// child zone lacks for the parent's scan to find that change.
///
/// With the NOTIFY scheme nothing but the hint is sent: the parent reads the child's CDS/CDNSKEY
/// for the DS (RFC 7344 §4, RFC 8078) and its CSYNC for NS and glue (RFC 7477 §2). So a DS change
/// is announced with NOTIFY(CDS) only when the zone publishes CDS or CDNSKEY, and an NS or glue
/// change with NOTIFY(CSYNC) only when a CSYNC record lists every type that changed. Otherwise
/// there is a warning saying what to publish: the parent would scan and find nothing.
///
/// Pure: the change, the apex and the CSYNC records in, the types and warnings out.
public struct NotifyPlan: Sendable, Hashable {
    /// The NOTIFY types to send, CDS before CSYNC.
    public var types: [RRType] = []
    /// What the zone lacks or what the parent may make of it, in plain words.
    public var warnings: [String] = []

    /// The delegation types the UPDATE operations touch (NS, A, AAAA, DS; KEY is the UPDATE
    /// scheme's own business and needs no NOTIFY).
    public static func changedTypes(_ operations: [Update.Operation]) -> Set<RRType> {
        Set(operations.flatMap { $0.type == .any ? [RRType.ns, .a, .aaaa] : [$0.type] }).intersection([.ns, .a, .aaaa, .ds])
    }

    /// Whether announcing `changed` needs the zone's CSYNC (an NS or glue change).
    public static func needsCSYNC(_ changed: Set<RRType>) -> Bool { !changed.isDisjoint(with: [.ns, .a, .aaaa]) }

    /// The plan for `changed` (``changedTypes(_:)``) of `child`, given its apex and the CSYNC
    /// records at its apex (read only when ``needsCSYNC(_:)``).
    public init(child: DomainName, changed: Set<RRType>, apex: ChildApexRecords, csync: [Record]) {
        if changed.contains(.ds) {
            if apex.cds.isEmpty && apex.cdnskey.isEmpty {
                warnings.append(
                    "the DS of \(child) should change, but the zone publishes no CDS or CDNSKEY: with the NOTIFY scheme the parent takes the DS "
                        + "only from them (RFC 7344 §4), so no NOTIFY(CDS) was sent; publish CDS/CDNSKEY (BIND dnssec-policy, Knot "
                        + "cds-cdnskey-publish) or use scheme update")
            } else {
                types.append(.cds)
            }
        }
        let needed = changed.intersection([.ns, .a, .aaaa])
        guard !needed.isEmpty else { return }
        let what = needed.sorted().map(\.description).joined(separator: ", ")
        let publish = "publish `\(child) CSYNC <SOA serial> 1 A NS AAAA` (RFC 7477 §2) or use scheme update"
        guard let record = csync.first else {
            warnings.append(
                "the \(what) of \(child) should change, but the zone publishes no CSYNC: with the NOTIFY scheme the parent takes NS and glue "
                    + "only from it, so no NOTIFY(CSYNC) was sent; \(publish)")
            return
        }
        guard csync.count == 1, let data = try? CSYNCData(rdata: record.rdata) else {
            warnings.append(
                "\(child) publishes \(csync.count == 1 ? "a CSYNC that does not parse" : "\(csync.count) CSYNC records"), so no NOTIFY(CSYNC) was sent; \(publish)"
            )
            return
        }
        let missing = needed.subtracting(data.types)
        guard missing.isEmpty else {
            warnings.append(
                "the \(what) of \(child) should change, but its CSYNC (\(data)) does not list \(missing.sorted().map(\.description).joined(separator: ", ")), "
                    + "so the parent would not copy it and no NOTIFY(CSYNC) was sent; \(publish)")
            return
        }
        types.append(.csync)
        if !data.isImmediate {
            warnings.append(
                "the CSYNC of \(child) lacks the immediate flag (RFC 7477 §2.1.1.1): the parent may wait for its operator (a delegsync parent ignores it)")
        }
    }
}
