import COpenSSL
import DNSWire

/// A key problem: unreadable, malformed, or refused by OpenSSL. The text says what to fix.
public struct SIG0KeyError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A public key that verifies SIG(0) signatures, parsed once from KEY RDATA (RFC 2535 §3.1;
/// key encodings of RFC 3110, RFC 6605 §4, RFC 8080 §3) and reusable across verifications.
public struct SIG0PublicKey: Sendable {
    public let algorithm: SIG0Algorithm
    /// The KEY RDATA exactly as published; the key tag is computed over it.
    public let keyData: KEYData
    let evp: EVPKey
    /// RSA: modulus size in octets, which is the signature size.
    let rsaModulusSize: Int?
    /// A verification context set up once for this key; each verification works on a copy
    /// (setting one up fetches the algorithm by name, which costs more than the copy).
    let verifyTemplate: VerifyContext?

    /// RSA moduli accepted: RFC 8624 §3.1 wants at least 2048 bits for RSASHA256; above 4096
    /// bits a single verification costs too much CPU for a public listener.
    public static let rsaModulusBits = 2048...4096

    /// RSA public exponents accepted: odd, from 3 to 2^32 − 1 (65537 and 3 in practice). The
    /// cost of a verification grows with the exponent's length: a key of 2048 bits with an
    /// exponent of 3071 bits makes one verification about 150 times dearer, and RFC 3110 §2
    /// allows exponents up to 4096 bits. An exponent of 1 would make any value a signature.
    public static let rsaExponentBits = 2...32

    public var keyTag: UInt16 { keyData.keyTag }

    public init(_ keyData: KEYData) throws {
        let algorithm = SIG0Algorithm(keyData.algorithm)
        guard algorithm.isSupported else { throw SIG0KeyError("algorithm \(keyData.algorithm) is not supported (use 8, 13, 14 or 15)") }
        guard keyData.protocol == 3 else { throw SIG0KeyError("KEY protocol \(keyData.protocol) is not 3 (RFC 3445 §3)") }
        guard !keyData.isNoKey else { throw SIG0KeyError("KEY flags \(keyData.flags) say \"no key\" (RFC 2535 §3.1.2)") }
        self.algorithm = algorithm
        self.keyData = keyData
        let key = keyData.publicKey
        var modulusSize: Int? = nil
        switch algorithm {
        case .ed25519:
            guard key.count == 32 else { throw SIG0KeyError("Ed25519 public key of \(key.count) octets (RFC 8080: 32)") }
            guard let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, key, key.count) else {
                throw SIG0KeyError("OpenSSL refused the Ed25519 key: \(lastError())")
            }
            evp = EVPKey(pkey)
        case .ecdsaP256SHA256, .ecdsaP384SHA384:
            let size = algorithm.ecdsaFieldSize!
            guard key.count == 2 * size else { throw SIG0KeyError("\(algorithm) public key of \(key.count) octets (RFC 6605: \(2 * size))") }
            evp = try EVPKey.fromData(type: "EC", selection: delegsync_EVP_PKEY_PUBLIC_KEY) { b in
                try b.utf8(OSSL_PKEY_PARAM_GROUP_NAME, algorithm == .ecdsaP256SHA256 ? "P-256" : "P-384")
                try b.octets(OSSL_PKEY_PARAM_PUB_KEY, [0x04] + key)
            }
        default:
            let (exponent, modulus) = try Self.splitRSA(key)
            try Self.checkRSA(exponent: exponent, modulus: modulus)
            modulusSize = modulus.count
            evp = try EVPKey.fromData(type: "RSA", selection: delegsync_EVP_PKEY_PUBLIC_KEY) { b in
                try b.bn(OSSL_PKEY_PARAM_RSA_N, modulus)
                try b.bn(OSSL_PKEY_PARAM_RSA_E, exponent)
            }
        }
        rsaModulusSize = modulusSize
        verifyTemplate = VerifyContext(key: evp, digest: Self.digest(for: algorithm))
    }

    /// RFC 3110 §2: exponent length (1 octet, or 0 then 2 octets), exponent, modulus. Leading
    /// zero octets of exponent and modulus are dropped.
    static func splitRSA(_ key: [UInt8]) throws -> (exponent: [UInt8], modulus: [UInt8]) {
        guard let first = key.first else { throw SIG0KeyError("empty RSA public key") }
        var offset = 1
        var length = Int(first)
        if first == 0 {
            guard key.count >= 3 else { throw SIG0KeyError("RSA public key of \(key.count) octets ends inside its exponent length (RFC 3110 §2)") }
            length = Int(key[1]) << 8 | Int(key[2])
            offset = 3
        }
        guard length > 0 else { throw SIG0KeyError("RSA public key with an exponent of 0 octets (RFC 3110 §2)") }
        guard key.count > offset + length else {
            throw SIG0KeyError("RSA public key of \(key.count) octets: its exponent of \(length) octets leaves no modulus (RFC 3110 §2)")
        }
        return (Self.withoutLeadingZeros(key[offset..<(offset + length)]), Self.withoutLeadingZeros(key[(offset + length)...]))
    }

    static func withoutLeadingZeros(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        Array(bytes.drop { $0 == 0 })
    }

    /// Significant bits of a big-endian unsigned number without leading zero octets.
    static func bitLength(_ number: [UInt8]) -> Int {
        guard let first = number.first else { return 0 }
        return number.count * 8 - first.leadingZeroBitCount
    }

    /// Refuses RSA keys whose verification would cost too much or prove nothing: a modulus
    /// outside ``rsaModulusBits``, an exponent that is even, below 3 or above 2^32 − 1.
    static func checkRSA(exponent: [UInt8], modulus: [UInt8]) throws {
        let modulusBits = bitLength(modulus)
        guard rsaModulusBits.contains(modulusBits) else {
            throw SIG0KeyError(
                "RSA modulus of \(modulusBits) bits; accepted are \(rsaModulusBits.lowerBound)–\(rsaModulusBits.upperBound) bits (RFC 8624 §3.1): "
                    + "generate a key of 2048 bits, or use algorithm 13 or 15")
        }
        let exponentBits = bitLength(exponent)
        guard rsaExponentBits.contains(exponentBits), exponent.last.map({ $0 & 1 == 1 }) == true else {
            let shown = exponentBits <= 64 ? String(exponent.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) : "of \(exponentBits) bits"
            throw SIG0KeyError(
                "RSA public exponent \(shown) is refused: it must be odd, at least 3 and below 2^32 (65537 is usual); "
                    + "a longer exponent makes every verification dearer")
        }
    }

    /// RFC 3110 §2 encoding of an RSA public key.
    static func joinRSA(exponent: [UInt8], modulus: [UInt8]) -> [UInt8] {
        var out: [UInt8] = exponent.count < 256 ? [UInt8(exponent.count)] : [0, UInt8(exponent.count >> 8), UInt8(exponent.count & 0xFF)]
        out += exponent
        out += modulus
        return out
    }

    /// The signature size this key's signatures must have.
    var signatureSize: Int { algorithm.fixedSignatureSize ?? rsaModulusSize ?? 0 }

    /// Verifies `signature` (DNS encoding) over `data`.
    public func verify(_ signature: [UInt8], over data: [UInt8]) -> Bool {
        guard signature.count == signatureSize else { return false }
        var der = signature
        if let size = algorithm.ecdsaFieldSize {
            guard let encoded = Self.ecdsaDER(signature, fieldSize: size) else { return false }
            der = encoded
        }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        let ready: Bool
        if let verifyTemplate {
            ready = EVP_MD_CTX_copy_ex(ctx, verifyTemplate.pointer) == 1
        } else {
            ready = EVP_DigestVerifyInit(ctx, nil, digest, nil, evp.pointer) == 1
        }
        guard ready else {
            ERR_clear_error()
            return false
        }
        let result = EVP_DigestVerify(ctx, der, der.count, data, data.count)
        if result != 1 { ERR_clear_error() }
        return result == 1
    }

    var digest: OpaquePointer? { Self.digest(for: algorithm) }

    static func digest(for algorithm: SIG0Algorithm) -> OpaquePointer? {
        switch algorithm {
        case .ecdsaP384SHA384: EVP_sha384()
        case .ed25519: nil
        default: EVP_sha256()
        }
    }

    /// r||s (RFC 6605 §4) to the DER ECDSA-Sig-Value OpenSSL verifies.
    static func ecdsaDER(_ signature: [UInt8], fieldSize: Int) -> [UInt8]? {
        guard let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        guard let r = BN_bin2bn(signature, Int32(fieldSize), nil) else { return nil }
        guard let s = signature.withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress! + fieldSize, Int32(fieldSize), nil) }) else {
            BN_free(r)
            return nil
        }
        guard ECDSA_SIG_set0(sig, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_ECDSA_SIG(sig, &out)
        guard length > 0, let out else { return nil }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}

/// A private key that makes SIG(0) signatures. Never logged or printed; ``bindPrivateFields``
/// is the one way out, for writing a `.private` file.
public struct SIG0PrivateKey: Sendable {
    public let algorithm: SIG0Algorithm
    let evp: EVPKey

    /// The public key in DNS encoding (RFC 3110 / RFC 6605 / RFC 8080).
    public let publicKey: [UInt8]

    /// A new key: Ed25519 by default, RSA with 2048 bits.
    public static func generate(_ algorithm: SIG0Algorithm = .ed25519, rsaBits: Int = 2048) throws -> SIG0PrivateKey {
        let name: String
        switch algorithm {
        case .ed25519: name = "ED25519"
        case .ecdsaP256SHA256, .ecdsaP384SHA384: name = "EC"
        case .rsaSHA256: name = "RSA"
        default: throw SIG0KeyError("cannot generate keys for \(algorithm)")
        }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, name, nil) else { throw SIG0KeyError("OpenSSL lacks \(name)") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw SIG0KeyError("keygen: \(lastError())") }
        if algorithm == .rsaSHA256 {
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(rsaBits)) == 1 else { throw SIG0KeyError("RSA bits: \(lastError())") }
        } else if algorithm != .ed25519 {
            let group = algorithm == .ecdsaP256SHA256 ? "P-256" : "P-384"
            guard EVP_PKEY_CTX_set_group_name(ctx, group) == 1 else { throw SIG0KeyError("EC group: \(lastError())") }
        }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_generate(ctx, &key) == 1, let key else { throw SIG0KeyError("keygen: \(lastError())") }
        let evp = EVPKey(key)
        return SIG0PrivateKey(algorithm: algorithm, evp: evp, publicKey: try Self.publicKey(of: evp, algorithm: algorithm))
    }

    init(algorithm: SIG0Algorithm, evp: EVPKey, publicKey: [UInt8]) {
        self.algorithm = algorithm
        self.evp = evp
        self.publicKey = publicKey
    }

    static func publicKey(of evp: EVPKey, algorithm: SIG0Algorithm) throws -> [UInt8] {
        switch algorithm {
        case .ed25519:
            return try evp.octetParam(OSSL_PKEY_PARAM_PUB_KEY)
        case .ecdsaP256SHA256, .ecdsaP384SHA384:
            let point = try evp.octetParam(OSSL_PKEY_PARAM_PUB_KEY)
            guard point.first == 0x04, point.count == 1 + 2 * algorithm.ecdsaFieldSize! else {
                throw SIG0KeyError("EC public key is not an uncompressed point")
            }
            return Array(point.dropFirst())
        default:
            return SIG0PublicKey.joinRSA(exponent: try evp.bnParam(OSSL_PKEY_PARAM_RSA_E), modulus: try evp.bnParam(OSSL_PKEY_PARAM_RSA_N))
        }
    }

    /// The key from the fields of a BIND `.private` file (Private-key-format v1.2/v1.3).
    /// `publicKey` (from the `.key` file) is needed for ECDSA, whose private file lacks it.
    public init(algorithm: SIG0Algorithm, bindFields fields: [String: [UInt8]], publicKey: [UInt8]?) throws {
        func field(_ name: String) throws -> [UInt8] {
            guard let value = fields[name] else { throw SIG0KeyError("the private key file has no \(name) line") }
            return value
        }
        let evp: EVPKey
        switch algorithm {
        case .ed25519:
            let seed = try field("PrivateKey")
            guard seed.count == 32, let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, 32) else {
                throw SIG0KeyError("Ed25519 PrivateKey must be 32 octets")
            }
            evp = EVPKey(key)
        case .ecdsaP256SHA256, .ecdsaP384SHA384:
            let size = algorithm.ecdsaFieldSize!
            let scalar = try field("PrivateKey")
            guard scalar.count == size else { throw SIG0KeyError("\(algorithm) PrivateKey must be \(size) octets") }
            guard let publicKey, publicKey.count == 2 * size else {
                throw SIG0KeyError("\(algorithm) needs the public key from the .key file next to the .private file")
            }
            evp = try EVPKey.fromData(type: "EC", selection: delegsync_EVP_PKEY_KEYPAIR) { b in
                try b.utf8(OSSL_PKEY_PARAM_GROUP_NAME, algorithm == .ecdsaP256SHA256 ? "P-256" : "P-384")
                try b.octets(OSSL_PKEY_PARAM_PUB_KEY, [0x04] + publicKey)
                try b.bn(OSSL_PKEY_PARAM_PRIV_KEY, scalar)
            }
        case .rsaSHA256:
            let names = [
                (OSSL_PKEY_PARAM_RSA_N, "Modulus"), (OSSL_PKEY_PARAM_RSA_E, "PublicExponent"),
                (OSSL_PKEY_PARAM_RSA_D, "PrivateExponent"), ("rsa-factor1", "Prime1"),
                ("rsa-factor2", "Prime2"), ("rsa-exponent1", "Exponent1"),
                ("rsa-exponent2", "Exponent2"), ("rsa-coefficient1", "Coefficient"),
            ]
            let values = try names.map { ($0.0, try field($0.1)) }
            evp = try EVPKey.fromData(type: "RSA", selection: delegsync_EVP_PKEY_KEYPAIR) { b in
                for (param, value) in values { try b.bn(param, value) }
            }
        default:
            throw SIG0KeyError("algorithm \(algorithm.rawValue) is not supported (use 8, 13, 14 or 15)")
        }
        self.init(algorithm: algorithm, evp: evp, publicKey: try Self.publicKey(of: evp, algorithm: algorithm))
        // OpenSSL does not check that an imported EC private scalar matches the public point:
        // sign once and verify with the public key, which catches any mismatched pair.
        let publicHalf = try SIG0PublicKey(KEYData(flags: 0, algorithm: algorithm.rawValue, publicKey: publicKey ?? self.publicKey))
        let probe = Array("delegsync key pair check".utf8)
        guard (publicKey ?? self.publicKey) == self.publicKey, publicHalf.verify(try sign(probe), over: probe) else {
            throw SIG0KeyError("the .private file does not belong to the public key in the .key file")
        }
    }

    /// The fields of a BIND `.private` file, in BIND's order.
    public func bindPrivateFields() throws -> [(String, [UInt8])] {
        switch algorithm {
        case .ed25519:
            var length = 32
            var seed = [UInt8](repeating: 0, count: 32)
            guard EVP_PKEY_get_raw_private_key(evp.pointer, &seed, &length) == 1 else { throw SIG0KeyError("cannot export the key") }
            return [("PrivateKey", seed)]
        case .ecdsaP256SHA256, .ecdsaP384SHA384:
            return [("PrivateKey", try evp.bnParam(OSSL_PKEY_PARAM_PRIV_KEY, size: algorithm.ecdsaFieldSize!))]
        default:
            return try [
                ("Modulus", OSSL_PKEY_PARAM_RSA_N), ("PublicExponent", OSSL_PKEY_PARAM_RSA_E),
                ("PrivateExponent", OSSL_PKEY_PARAM_RSA_D), ("Prime1", "rsa-factor1"),
                ("Prime2", "rsa-factor2"), ("Exponent1", "rsa-exponent1"),
                ("Exponent2", "rsa-exponent2"), ("Coefficient", "rsa-coefficient1"),
            ].map { ($0.0, try evp.bnParam($0.1)) }
        }
    }

    /// Signs `data`, returning the signature in DNS encoding (ECDSA as r||s).
    public func sign(_ data: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw SIG0KeyError("out of memory") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, SIG0PublicKey.digest(for: algorithm), nil, evp.pointer) == 1 else {
            throw SIG0KeyError("sign: \(lastError())")
        }
        var length = 0
        guard EVP_DigestSign(ctx, nil, &length, data, data.count) == 1 else { throw SIG0KeyError("sign: \(lastError())") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(ctx, &signature, &length, data, data.count) == 1 else { throw SIG0KeyError("sign: \(lastError())") }
        signature = Array(signature.prefix(length))
        if let size = algorithm.ecdsaFieldSize {
            return try Self.rawECDSA(der: signature, fieldSize: size)
        }
        return signature
    }

    /// DER ECDSA-Sig-Value to r||s, each left-padded to the field size (RFC 6605 §4).
    static func rawECDSA(der: [UInt8], fieldSize: Int) throws -> [UInt8] {
        var pointer: UnsafePointer<UInt8>? = nil
        let sig: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            pointer = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &pointer, der.count)
        }
        guard let sig else { throw SIG0KeyError("OpenSSL returned a malformed ECDSA signature") }
        defer { ECDSA_SIG_free(sig) }
        var out = [UInt8](repeating: 0, count: 2 * fieldSize)
        guard let r = ECDSA_SIG_get0_r(sig), let s = ECDSA_SIG_get0_s(sig),
            out.withUnsafeMutableBufferPointer({
                BN_bn2binpad(r, $0.baseAddress!, Int32(fieldSize)) == Int32(fieldSize)
                    && BN_bn2binpad(s, $0.baseAddress! + fieldSize, Int32(fieldSize)) == Int32(fieldSize)
            })
        else { throw SIG0KeyError("ECDSA signature does not fit") }
        return out
    }
}
