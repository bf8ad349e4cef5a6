import DNSWire

/// Signs messages with SIG(0) (RFC 2931 §3.1): appends a SIG RR (owner root, class ANY, TTL 0)
/// as the last additional record and raises ARCOUNT.
public struct SIG0Signer: Sendable {
    public let key: SIG0PrivateKey
    /// The signer's name, written uncompressed and exactly as given.
    public let signer: DomainName
    public let keyTag: UInt16

    /// nsupdate's bracket: 5 minutes each side of now (RFC 2931 §3.3).
    public static let defaultFudge: UInt32 = 300

    public init(key: SIG0PrivateKey, signer: DomainName, keyTag: UInt16) {
        self.key = key
        self.signer = signer
        self.keyTag = keyTag
    }

    /// A signer from a key pair read with ``BINDKeyFile/load(path:requirePrivate:)``.
    public init(keyFile: BINDKeyFile) throws {
        guard let key = keyFile.privateKey else { throw SIG0KeyError("\(keyFile.baseName): no private key") }
        self.init(key: key, signer: keyFile.owner, keyTag: keyFile.keyTag)
    }

    /// Signs a request valid from `now - fudge` to `now + fudge`.
    public func sign(_ message: [UInt8], now: UInt32, fudge: UInt32 = Self.defaultFudge) throws -> [UInt8] {
        try sign(message, inception: now &- fudge, expiration: now &+ fudge)
    }

    /// Signs `message`, which must not carry a SIG(0) or TSIG yet. With `request`, signs a
    /// response: the signature then also covers the request as received (RFC 2535 §4.1.8.1).
    public func sign(_ message: [UInt8], inception: UInt32, expiration: UInt32, request: [UInt8]? = nil) throws -> [UInt8] {
        let layout = try MessageLayout(scanning: message)
        if let last = layout.spans(in: .additional).last, last.type == .sig || last.type == .tsig {
            throw SIG0KeyError("the message is signed already (its last additional record is \(last.type))")
        }
        guard layout.counts[3] < 0xFFFF else { throw SIG0KeyError("ARCOUNT is full") }
        var sig = SIGData(algorithm: key.algorithm.rawValue, expiration: expiration, inception: inception, keyTag: keyTag, signerName: signer, signature: [])
        let fixed = sig.rdataWithoutSignature
        let data = SIG0Signature.signedData(sigRdataWithoutSignature: fixed[...], request: request, unsignedMessage: message[...], arcountAdjustment: 0)
        sig.signature = try key.sign(data)
        var signed = message
        signed.append(contentsOf: Record(name: .root, type: .sig, rrClass: .any, ttl: 0, rdata: sig.rdata).wire)
        let arcount = layout.counts[3] + 1
        signed[10] = UInt8(arcount >> 8)
        signed[11] = UInt8(arcount & 0xFF)
        guard signed.count <= Message.maxLength else { throw SIG0KeyError("the signed message is over 65535 octets") }
        return signed
    }
}
