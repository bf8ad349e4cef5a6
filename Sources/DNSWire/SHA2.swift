import CLDNS

/// SHA-256 (FIPS 180-4) through libldns: DS digests (RFC 4509), key identities, signature
/// digests for replay state.
public enum SHA256 {
    public static func digest(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(LDNS_SHA256_DIGEST_LENGTH))
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { _ = ldns_sha256(input.baseAddress, UInt32(input.count), $0.baseAddress) }
        }
        return out
    }
}

/// SHA-1 (FIPS 180-4) through libldns: NSEC3 owner hashes (RFC 5155 §5) only.
public enum SHA1 {
    public static func digest(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(LDNS_SHA1_DIGEST_LENGTH))
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { _ = ldns_sha1(input.baseAddress, UInt32(input.count), $0.baseAddress) }
        }
        return out
    }
}

/// SHA-384 (FIPS 180-4) through libldns: DS digest type 4 (RFC 6605 §2).
public enum SHA384 {
    public static func digest(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(LDNS_SHA384_DIGEST_LENGTH))
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { _ = ldns_sha384(input.baseAddress, UInt32(input.count), $0.baseAddress) }
        }
        return out
    }
}

/// HMAC (RFC 2104) over a hash function with the given block size: H((K ^ opad) || H((K ^ ipad) || text)).
enum HMAC {
    static func authenticate(_ text: [UInt8], key: [UInt8], blockSize: Int, digest: ([UInt8]) -> [UInt8]) -> [UInt8] {
        var block = key.count > blockSize ? digest(key) : key
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        let inner = digest(block.map { $0 ^ 0x36 } + text)
        return digest(block.map { $0 ^ 0x5C } + inner)
    }
}

extension SHA256 {
    /// HMAC-SHA-256 (RFC 2104, RFC 4231) of `text` under `key`.
    public static func hmac(_ text: [UInt8], key: [UInt8]) -> [UInt8] {
        HMAC.authenticate(text, key: key, blockSize: 64, digest: digest)
    }
}
