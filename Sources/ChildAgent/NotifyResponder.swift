import DNSWire
import DelegationCore
import Foundation

/// Decides the answer to one request sent to `delegsync child watch`: a NOTIFY (RFC 1996) for
/// a configured child zone, from that child's primary, is accepted; everything else is answered
/// with an error and an Extended DNS Error (RFC 8914). Pure: bytes and source address in, reply
/// bytes and the decision out.
///
/// - Accepted (RFC 1996 §4.7): NOERROR, QR and AA set, the request's ID, opcode and question.
/// - Not a NOTIFY: NOTIMP (RFC 1996 §3.12 names NOTIMP as the answer of a server that does not
///   implement an opcode), EDE 21 Not Supported.
/// - Not exactly one question: FORMERR, EDE 24 Invalid Data (RFC 1996 §3.7 asks for one).
/// - NOTIFY for another type than SOA: NOTIMP, EDE 21 (only SOA means "the zone changed").
/// - NOTIFY for a zone that is not a configured child (or not class IN): NOTAUTH, EDE 20.
/// - NOTIFY from an address other than the child's configured primary: REFUSED, EDE 18
///   Prohibited. RFC 1996 §3.10 says to ignore a NOTIFY from a host that is not a known master
///   and log it; answering REFUSED (as BIND does) stops the sender's retransmissions (§3.6).
/// - A message that does not parse: FORMERR with the header's ID and opcode, EDE 24 when the
///   request visibly carried an OPT record.
/// - A response (QR set) or fewer than 12 octets: no answer at all.
///
/// An EDE goes only into replies to requests with an OPT record (RFC 8914 §3; RFC 6891 §7 forbids
/// OPT in a reply to a request without one).
///
/// Limitations: addresses are compared, not ports (a primary sends from any port); NOTIFY is not
/// authenticated (no TSIG), so over UDP the source address can be forged. A forged NOTIFY can only
/// make the watcher sync sooner, and a sync reads the child's servers itself.
public struct NotifyResponder: Sendable {
    /// The child zones whose NOTIFYs are accepted, each from its own primary.
    public let children: [ChildConfiguration.Child]

    public init(children: [ChildConfiguration.Child]) {
        self.children = children
    }

    /// What was decided about one request.
    public struct Decision: Sendable {
        /// The reply to send.
        public let reply: [UInt8]
        public let rcode: RCode
        /// The Extended DNS Error INFO-CODE that goes with a non-NOERROR rcode.
        public let infoCode: UInt16?
        /// Why, in words (also the EDE EXTRA-TEXT).
        public let reason: String
        /// The zone the request named, when it named one.
        public let zone: DomainName?
        /// The child to sync: set only when the NOTIFY was accepted.
        public let accepted: DomainName?
    }

    /// The decision and reply for `bytes` received from `source` (an address without port);
    /// `nil` when no reply is due (a response, or shorter than a header).
    public func respond(to bytes: [UInt8], from source: String) -> Decision? {
        guard bytes.count >= MessageLayout.headerLength, bytes[2] & 0x80 == 0 else { return nil }
        let request: Message
        do {
            request = try Message(wire: bytes)
        } catch {
            return unparsed(bytes, reason: "the request does not parse: \(error)")
        }
        guard request.opcode == .notify else {
            return reject(
                request, .notImp, DelegationEDE.notSupported,
                "opcode \(request.opcode) is not served here: delegsync child watch answers only NOTIFY (RFC 1996)")
        }
        guard request.question.count == 1, let question = request.question.first else {
            return reject(
                request, .formErr, DelegationEDE.invalidData, "a NOTIFY names exactly one zone (RFC 1996 §3.7), this one has \(request.question.count)")
        }
        guard question.type == .soa else {
            return reject(
                request, .notImp, DelegationEDE.notSupported, "NOTIFY for \(question.type) is not served here, only NOTIFY for SOA (the zone changed)",
                zone: question.name)
        }
        guard question.qclass == .in, let child = children.first(where: { $0.name == question.name }) else {
            return reject(
                request, .notAuth, DelegationEDE.notAuthoritative, "\(question.name) \(question.qclass) is not a child zone this watcher syncs",
                zone: question.name)
        }
        guard Self.sameAddress(source, child.primary.host) else {
            return reject(
                request, .refused, DelegationEDE.prohibited,
                "NOTIFY for \(child.name) is accepted only from its primary \(child.primary.host), not from \(source)", zone: child.name)
        }
        var response = request.makeResponse(rcode: .noError)
        response.header.aa = true
        if request.edns != nil { response.edns = EDNS(udpPayloadSize: 1232) }
        let reply = (try? response.wireFormat()) ?? Self.headerOnly(id: request.id, opcode: request.opcode, rcode: .noError, authoritative: true)
        return Decision(reply: reply, rcode: .noError, infoCode: nil, reason: "accepted", zone: child.name, accepted: child.name)
    }

    /// An error reply: ID, opcode and question of the request, QR set, and an EDE when the
    /// request had OPT.
    func reject(_ request: Message, _ rcode: RCode, _ infoCode: UInt16, _ reason: String, zone: DomainName? = nil) -> Decision {
        var response = request.makeResponse(rcode: rcode)
        if request.edns != nil {
            response.edns = EDNS(udpPayloadSize: 1232, options: [ExtendedDNSError(infoCode: infoCode, extraText: reason).option])
        }
        let reply = (try? response.wireFormat()) ?? Self.headerOnly(id: request.id, opcode: request.opcode, rcode: rcode)
        return Decision(reply: reply, rcode: rcode, infoCode: infoCode, reason: reason, zone: zone, accepted: nil)
    }

    /// FORMERR for bytes that do not parse: ID and opcode from the raw header (RFC 1035 §4.1.1),
    /// no sections, and an OPT with EDE 24 when a scan of the request finds an OPT record.
    func unparsed(_ bytes: [UInt8], reason: String) -> Decision {
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let opcode = Opcode((bytes[2] >> 3) & 0x0F)
        let hasOPT = (try? MessageLayout(scanning: bytes))?.spans(in: .additional).contains { $0.type == .opt } ?? false
        var reply = Self.headerOnly(id: id, opcode: opcode, rcode: .formErr)
        if hasOPT {
            var header = Header()
            header.id = id
            header.qr = true
            header.opcode = opcode
            let ede = ExtendedDNSError(infoCode: DelegationEDE.invalidData, extraText: reason)
            let message = Message(header: header, edns: EDNS(udpPayloadSize: 1232, options: [ede.option]), rcode: .formErr)
            reply = (try? message.wireFormat()) ?? reply
        }
        return Decision(reply: reply, rcode: .formErr, infoCode: hasOPT ? DelegationEDE.invalidData : nil, reason: reason, zone: nil, accepted: nil)
    }

    /// A 12-octet reply: ID, QR, opcode, AA when asked, RCODE; all counts zero.
    static func headerOnly(id: UInt16, opcode: Opcode, rcode: RCode, authoritative: Bool = false) -> [UInt8] {
        [
            UInt8(id >> 8), UInt8(id & 0xFF), 0x80 | (opcode.rawValue << 3) | (authoritative ? 0x04 : 0), UInt8(rcode.rawValue & 0x0F),
            0, 0, 0, 0, 0, 0, 0, 0,
        ]
    }

    /// Whether two address literals name the same address: compared as binary addresses (so
    /// `::1` equals `0:0::1`), an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack
    /// socket reports an IPv4 peer) equals its IPv4 address, and a zone index (`%eth0`) is
    /// ignored. Text that is not an address equals nothing.
    public static func sameAddress(_ first: String, _ second: String) -> Bool {
        guard let a = addressBytes(first), let b = addressBytes(second) else { return false }
        return a == b
    }

    /// The 4 (IPv4, also for IPv4-mapped IPv6) or 16 octets of an address literal.
    static func addressBytes(_ text: String) -> [UInt8]? {
        let literal = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
        var v4 = in_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, literal, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
        return Array(bytes.prefix(12)) == mappedPrefix ? Array(bytes.suffix(4)) : bytes
    }
}
