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
