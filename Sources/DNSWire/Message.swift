/// A DNS message (RFC 1035 §4.1) with EDNS(0) (RFC 6891). For UPDATE (RFC 2136 §2) the four
/// sections are zone, prerequisite, update and additional; the aliases say so.
///
/// Decoding scans the bytes first (``MessageLayout``: cheap bounds checks on hostile input),
/// then lets ldns parse them. Encoding goes through ldns, except the OPT record and trailing
/// SIG/TSIG records, which are appended in order so that a SIG(0) stays last (RFC 2931 §3).
public struct Message: Sendable, Hashable {
    public var header: Header
    public var question: [Question]
    public var answer: [Record]
    public var authority: [Record]
    /// The additional section without the OPT record (kept in ``edns``); a SIG(0) or TSIG stays
    /// here, in its place.
    public var additional: [Record]
    public var edns: EDNS?
    /// The whole RCODE (header bits and, with EDNS, the OPT's extended bits).
    public var rcode: RCode

    public init(
        header: Header = Header(), question: [Question] = [], answer: [Record] = [], authority: [Record] = [], additional: [Record] = [], edns: EDNS? = nil,
        rcode: RCode = .noError
    ) {
        self.header = header
        self.question = question
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.edns = edns
        self.rcode = rcode
    }

    public var id: UInt16 {
        get { header.id }
        set { header.id = newValue }
    }

    public var opcode: Opcode {
        get { header.opcode }
        set { header.opcode = newValue }
    }

    /// RFC 2136 §2.3 Zone section.
    public var zone: [Question] {
        get { question }
        set { question = newValue }
    }

    /// RFC 2136 §2.4 Prerequisite section.
    public var prerequisites: [Record] {
        get { answer }
        set { answer = newValue }
    }

    /// RFC 2136 §2.5 Update section.
    public var updates: [Record] {
        get { authority }
        set { authority = newValue }
    }

    /// Largest DNS message (RFC 1035 §4.2.2: TCP length is 16 bits).
    public static let maxLength = 65535

    // MARK: Decoding

    /// Decodes a message received on the wire.
    public init(wire bytes: [UInt8]) throws {
        try self.init(wire: bytes, layout: MessageLayout(scanning: bytes))
    }

    /// Decodes a message whose layout the caller already scanned.
    public init(wire bytes: [UInt8], layout: MessageLayout) throws {
        guard bytes.count <= Self.maxLength else {
            throw DNSWireError(.encoding, "message of \(bytes.count) octets is over 65535")
        }
        let optSpans = layout.spans(in: .additional).filter { $0.type == .opt }
        guard optSpans.count <= 1 else {
            throw DNSWireError(.badRdata, "\(optSpans.count) OPT records (RFC 6891 §6.1.1 allows one)")
        }
        if let opt = optSpans.first, !opt.owner.isRoot {
            throw DNSWireError(.badRdata, "OPT owner is \(opt.owner), not the root (RFC 6891 §6.1.2)")
        }
        let decoded = try LDNS.decode(bytes)
        header = decoded.header
        question = decoded.question
        answer = decoded.sections[0]
        authority = decoded.sections[1]
        additional = decoded.sections[2]
        if let tsig = decoded.tsig { additional.append(tsig) }
        var code = UInt16(header.rcodeLow)
        header.rcodeLow = 0
        if let opt = optSpans.first {
            let flags = decoded.edns.z
            let options = try EDNS.parseOptions(Array(bytes[opt.rdataStart..<opt.end]))
            edns = EDNS(
                udpPayloadSize: decoded.edns.udp, version: decoded.edns.version,
                dnssecOK: flags & 0x8000 != 0, z: flags & 0x7FFF, options: options)
            code |= UInt16(decoded.edns.extendedRCode) << 4
        } else {
            edns = nil
        }
        rcode = RCode(code)
        let counted = [question.count, answer.count, authority.count, additional.count + (edns == nil ? 0 : 1)]
        guard counted == layout.counts else {
            throw DNSWireError(.badRdata, "ldns read sections \(counted), the header says \(layout.counts)")
        }
    }

    // MARK: Encoding

    /// Encodes the message. An RCODE above 15 needs ``edns`` (RFC 6891 §6.1.3).
    public func wireFormat() throws -> [UInt8] {
        guard !rcode.isExtended || edns != nil else {
            throw DNSWireError(.encoding, "RCODE \(rcode) needs an OPT record")
        }
        var header = self.header
        header.rcodeLow = UInt8(rcode.rawValue & 0x0F)
        // SIG and TSIG records at the end of the additional section go last, after OPT.
        var body = additional
        var tail: [Record] = []
        while let last = body.last, last.type == .sig || last.type == .tsig {
            tail.insert(body.removeLast(), at: 0)
        }
        var bytes = try LDNS.encode(header: header, question: question, sections: [answer, authority, body])
        var extra = 0
        if let edns {
            bytes.append(contentsOf: edns.optRecordWire(rcode: rcode))
            extra += 1
        }
        for record in tail {
            bytes.append(contentsOf: record.wire)
            extra += 1
        }
        if extra > 0 {
            let count = (Int(bytes[10]) << 8 | Int(bytes[11])) + extra
            bytes[10] = UInt8(count >> 8)
            bytes[11] = UInt8(count & 0xFF)
        }
        guard bytes.count <= Self.maxLength else {
            throw DNSWireError(.encoding, "message of \(bytes.count) octets is over 65535")
        }
        return bytes
    }

    /// A response skeleton (RFC 1035 §4.1.1, RFC 2136 §3.8): same ID, opcode and question/zone,
    /// QR set, the other sections empty; EDNS kept when the request had it.
    public func makeResponse(rcode: RCode = .noError) -> Message {
        var header = Header()
        header.id = self.header.id
        header.qr = true
        header.opcode = self.header.opcode
        header.rd = self.header.rd
        header.cd = self.header.cd
        return Message(header: header, question: question, edns: edns.map { EDNS(udpPayloadSize: $0.udpPayloadSize) }, rcode: rcode)
    }
}
