import DNSWire
import Foundation
@_exported import LabSupport
import XCTest

/// The parent zone every backend test starts from, the update the battery applies, and ways to
/// read back what a server serves.
public enum Lab {
    public static let zone = try! DomainName("parent.")
    public static let serial: UInt32 = 2024010101
    public static let fragmentName = "delegations.zone"

    public static let apex = """
        $ORIGIN parent.
        $TTL 3600
        ; the operator's zone: comments and layout must survive the agent's serial bump
        @\tIN\tSOA\tns1.parent. hostmaster.parent. (
        \t\t\(serial) ; serial
        \t\t3600 900 604800 300 )
        @\tIN\tNS\tns1.parent.
        ns1\tIN\tA\t192.0.2.53

        """

    public static let delegation = """
        child.parent.\t3600\tIN\tNS\tns1.child.parent.
        ns1.child.parent.\t3600\tIN\tA\t192.0.2.1

        """

    /// The zone for servers with dynamic update: apex and delegation in one file.
    public static let zoneText = apex + delegation

    /// The zone for NSD: the delegation lives in the fragment the zone file includes.
    public static let nsdZoneText = apex + "$INCLUDE \(LabServer.directoryPlaceholder)/\(fragmentName)\n; end of the operator's file\n"

    public static func record(_ text: String) -> Record { try! Record(text) }

    public static let ds = "child.parent. 3600 IN DS 12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118F1A6C9A5C1E5E1D2E6A1A4C3"

    /// Replace the NS set with ns1+ns2 (in-bailiwick, A and AAAA glue), delete the old glue A,
    /// add a DS (digest type 2).
    public static var update: Update {
        var update = Update(zone: zone)
        update.deleteRRset(try! DomainName("child.parent."), .ns)
        update.add(record("child.parent. 3600 IN NS ns1.child.parent."))
        update.add(record("child.parent. 3600 IN NS ns2.child.parent."))
        update.delete(record("ns1.child.parent. 3600 IN A 192.0.2.1"))
        update.add(record("ns1.child.parent. 3600 IN A 192.0.2.11"))
        update.add(record("ns1.child.parent. 3600 IN AAAA 2001:db8::11"))
        update.add(record("ns2.child.parent. 3600 IN A 192.0.2.12"))
        update.add(record("ns2.child.parent. 3600 IN AAAA 2001:db8::12"))
        update.add(record(ds))
        return update
    }

    public static let expectedNS: Set<String> = ["child.parent. ns ns1.child.parent.", "child.parent. ns ns2.child.parent."]
    public static let expectedGlue: Set<String> = [
        "ns1.child.parent. a 192.0.2.11", "ns1.child.parent. aaaa 2001:db8::11",
        "ns2.child.parent. a 192.0.2.12", "ns2.child.parent. aaaa 2001:db8::12",
    ]
    public static let expectedDS: Set<String> = [key(record(ds))]

    /// "owner TYPE rdata", lower case: what the battery compares (TTL and class left out).
    public static func key(_ record: Record) -> String {
        "\(record.name) \(record.type) \(record.rdataPresentation)".lowercased()
    }

    /// The records of the answer, authority and additional sections of a `dig` (OPT left out).
    public static func records(_ server: LabServer, _ name: String, _ type: String) throws -> (header: String, records: [Record]) {
        let output = try server.dig(["+noall", "+comments", "+answer", "+authority", "+additional", name, type])
        var records: [Record] = []
        for line in output.split(separator: "\n") where !line.hasPrefix(";") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
            records.append(try Record(String(line)))
        }
        return (output, records)
    }

    /// What the server serves for the delegation: NS at child.parent (answer or authority),
    /// the glue that comes with it, the DS (authoritative), and the SOA serial.
    public struct Served: Sendable {
        public var ns: Set<String>
        public var glue: Set<String>
        public var ds: Set<String>
        public var dsAuthoritative: Bool
        public var serial: UInt32
    }

    public static func served(_ server: LabServer, child name: String = "child.parent.") throws -> Served {
        let referral = try records(server, name, "NS")
        let child = try DomainName(name)
        let ns = referral.records.filter { $0.type == .ns && $0.name == child }.map(key)
        let glue = referral.records.filter { ($0.type == .a || $0.type == .aaaa) && $0.name.isSubdomain(of: child) }.map(key)
        let ds = try records(server, name, "DS")
        let dsRecords = ds.records.filter { $0.type == .ds }.map(key)
        let soa = try server.dig(["+short", "parent.", "SOA"]).split(separator: " ")
        guard soa.count >= 3, let serial = UInt32(soa[2]) else { throw ToolError("no SOA serial from \(server.kind): \(soa)") }
        return Served(
            ns: Set(ns), glue: Set(glue), ds: Set(dsRecords), dsAuthoritative: ds.header.contains("flags: qr aa") || ds.header.contains(" aa "),
            serial: serial)
    }

    public static func skipUnlessAvailable(_ kind: LabServer.Kind) throws {
        if let missing = LabServer.missing(kind) { throw XCTSkip(missing) }
    }
}
