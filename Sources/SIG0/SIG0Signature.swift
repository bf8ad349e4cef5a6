import DNSWire

/// A message's SIG(0), located and checked for form, with the offsets that the signed data is cut
/// from (RFC 2931 §3.1). Finding it costs one scan of the message and no crypto.
public struct SIG0Signature: Sendable {
    /// The message exactly as received.
    public let message: [UInt8]
    public let layout: MessageLayout
    public let sig: SIGData
    /// Offset of the SIG RR's owner name: the signed message ends here.
    public let recordStart: Int
    /// Offset of the SIG RDATA.
    let rdataStart: Int

    /// Finds the SIG(0) of `message` and checks its form (RFC 2931 §3.1, DESIGN.md: exactly one
    /// SIG(0), the last additional record, owner root, class ANY, TTL 0, labels 0, type covered 0;
    /// no TSIG next to it).
    public init(message: [UInt8]) throws(SIG0Rejection) {
        let layout: MessageLayout
        do {
            layout = try MessageLayout(scanning: message)
        } catch {
            throw SIG0Rejection(.malformed, "\(error)")
        }
        try self.init(message: message, layout: layout)
    }

    public init(message: [UInt8], layout: MessageLayout) throws(SIG0Rejection) {
        let additional = layout.spans(in: .additional)
        let sigs = additional.enumerated().filter { $0.element.type == .sig }
        guard let (index, span) = sigs.last else { throw SIG0Rejection(.noSignature, "the message has no SIG(0)") }
        if additional.contains(where: { $0.type == .tsig }) {
            throw SIG0Rejection(.tsigAndSIG0, "a message carries a TSIG or a SIG(0), not both (RFC 2931 §3)")
        }
        if sigs.count > 1 {
            throw SIG0Rejection(.multipleSignatures, "\(sigs.count) SIG records in the additional section; one SIG(0) is allowed")
        }
        guard index == additional.count - 1 else {
            throw SIG0Rejection(.signatureNotLast, "the SIG(0) is additional record \(index + 1) of \(additional.count); it must be the last")
        }
        let rdata = Array(message[span.rdataStart..<span.end])
        let sig: SIGData
        do {
            sig = try SIGData(rdata: rdata)
        } catch {
            throw SIG0Rejection(.malformed, "SIG RDATA: \(error)")
        }
        guard sig.typeCovered.rawValue == 0 else {
            throw SIG0Rejection(.typeCoveredNotZero, "SIG covers type \(sig.typeCovered); a SIG(0) covers 0")
        }
        // The owner must be the root written as one zero octet: a pointer would move the start
        // of the signed data.
        guard message[span.start] == 0, span.rdataStart - span.start == 11 else {
            throw SIG0Rejection(.badSIG0Fields, "SIG(0) owner must be the root, uncompressed")
        }
        guard span.rrClass == .any else { throw SIG0Rejection(.badSIG0Fields, "SIG(0) class is \(span.rrClass), not ANY") }
        let ttl = message[(span.start + 5)..<(span.start + 9)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard ttl == 0, sig.originalTTL == 0, sig.labels == 0 else {
            throw SIG0Rejection(.badSIG0Fields, "SIG(0) TTL, original TTL and labels must be 0 (TTL \(ttl), original \(sig.originalTTL), labels \(sig.labels))")
        }
        self.message = message
        self.layout = layout
        self.sig = sig
        self.recordStart = span.start
        self.rdataStart = span.rdataStart
    }

    /// The data the signature covers (RFC 2931 §3.1): the SIG RDATA without the signature, as
    /// received, then the message before the SIG(0) with ARCOUNT one less. For a response,
    /// the request that produced it (with its own SIG(0)) comes between the two
    /// (RFC 2535 §4.1.8.1).
    public func signedData(request: [UInt8]? = nil) -> [UInt8] {
        let fixedEnd = rdataStart + 18 + sig.signerName.wire.count
        return Self.signedData(
            sigRdataWithoutSignature: message[rdataStart..<fixedEnd], request: request, unsignedMessage: message[0..<recordStart], arcountAdjustment: 1)
    }

    /// Assembles RDATA-without-signature ‖ request ‖ message with ARCOUNT lowered by
    /// `arcountAdjustment` (the SIG(0) the message carries, or 0 when it is not appended yet).
    static func signedData(sigRdataWithoutSignature: ArraySlice<UInt8>, request: [UInt8]?, unsignedMessage: ArraySlice<UInt8>, arcountAdjustment: Int)
        -> [UInt8]
    {
        var data: [UInt8] = []
        data.reserveCapacity(sigRdataWithoutSignature.count + (request?.count ?? 0) + unsignedMessage.count)
        data.append(contentsOf: sigRdataWithoutSignature)
        if let request { data.append(contentsOf: request) }
        let base = data.count
        data.append(contentsOf: unsignedMessage)
        let arcount = (Int(data[base + 10]) << 8 | Int(data[base + 11])) - arcountAdjustment
        data[base + 10] = UInt8(arcount >> 8)
        data[base + 11] = UInt8(arcount & 0xFF)
        return data
    }
}
