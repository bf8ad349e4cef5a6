import DNSWire
import DelegationCore

/// Builds replies: same ID, opcode and zone section (RFC 2136 §3.8), QR set, and — when the
/// request carried OPT — an OPT with an Extended DNS Error whenever the RCODE is not NOERROR
/// (RFC 8914 §3 allows EDE only towards requests with OPT). Extended RCODEs (BADKEY, BADTIME,
/// BADSIG) need OPT; to a request without it they become REFUSED, whose text is then in the audit.
/// With `extendedAsRefused` (a request from a forwarder that would drop them) they become
/// REFUSED too, with OPT and EDE.
enum ResponseBuilder {
    static func reply(
        to request: Message, rcode: RCode, error: ExtendedDNSError?, keyState: EDNSOption? = nil, extendedAsRefused: Bool = false, answer: [Record] = []
    ) -> [UInt8] {
        var response = request.makeResponse(rcode: rcode)
        // An answer is the agent's own data (a status question's), so authoritative.
        response.answer = answer
        response.header.aa = !answer.isEmpty
        if request.edns == nil {
            response.edns = nil
            if rcode.isExtended { response.rcode = .refused }
        } else {
            if rcode.isExtended && extendedAsRefused { response.rcode = .refused }
            var options: [EDNSOption] = []
            if rcode != .noError, let error { options.append(error.option) }
            if let keyState { options.append(keyState) }
            response.edns = EDNS(udpPayloadSize: 1232, options: options)
        }
        if let bytes = try? response.wireFormat() { return bytes }
        // The zone section could not be re-encoded: answer from the header alone.
        return headerOnly(id: request.id, opcode: request.opcode, rcode: rcode.isExtended ? .refused : rcode)
    }

    /// A reply for a request that could not be parsed: ID and opcode from the raw header
    /// (RFC 1035 §4.1.1), no sections. `nil` when there is not even an ID.
    static func reply(toUnparsed bytes: [UInt8], rcode: RCode) -> [UInt8]? {
        guard bytes.count >= 3 else { return nil }
        guard bytes[2] & 0x80 == 0 else { return nil }  // never answer a response
        return headerOnly(id: UInt16(bytes[0]) << 8 | UInt16(bytes[1]), opcode: Opcode((bytes[2] >> 3) & 0x0F), rcode: rcode)
    }

    static func headerOnly(id: UInt16, opcode: Opcode, rcode: RCode, truncated: Bool = false) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xFF), 0x80 | (opcode.rawValue << 3) | (truncated ? 0x02 : 0), UInt8(rcode.rawValue & 0x0F), 0, 0, 0, 0, 0, 0, 0, 0]
    }

    /// A reply to a UDP request that may come from a spoofed source: never larger than the
    /// request (no amplification). When `reply` is larger it becomes the header alone with TC=1
    /// (RFC 1035 §4.1.1; RFC 7766 §5: the client retries over TCP).
    static func bounded(_ reply: [UInt8], toUDPRequest request: [UInt8]) -> [UInt8] {
        guard reply.count > request.count, reply.count >= 4 else { return reply }
        let id = UInt16(reply[0]) << 8 | UInt16(reply[1])
        return headerOnly(id: id, opcode: Opcode((reply[2] >> 3) & 0x0F), rcode: RCode(UInt16(reply[3] & 0x0F)), truncated: true)
    }
}
