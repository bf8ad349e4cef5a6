import COpenSSL

/// An `EVP_MD_CTX` set up for verification with one key (`EVP_DigestVerifyInit`), never used
/// itself: callers copy it (`EVP_MD_CTX_copy_ex`, which only reads it), so threads can share it.
final class VerifyContext: @unchecked Sendable {
    let pointer: OpaquePointer
    /// Keeps the key alive as long as the context refers to it.
    let key: EVPKey

    init?(key: EVPKey, digest: OpaquePointer?) {
        guard let ctx = EVP_MD_CTX_new() else { return nil }
        guard EVP_DigestVerifyInit(ctx, nil, digest, nil, key.pointer) == 1 else {
            EVP_MD_CTX_free(ctx)
            ERR_clear_error()
            return nil
        }
        self.pointer = ctx
        self.key = key
    }

    deinit { EVP_MD_CTX_free(pointer) }
}

/// Thin, owning wrappers over OpenSSL 3 EVP keys. Nothing outside this module sees a pointer.
final class EVPKey: @unchecked Sendable {
    // An EVP_PKEY is immutable once built and OpenSSL allows it to be shared between threads
    // for signing and verifying (each operation makes its own context).
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    /// Builds a key from OSSL parameters (`EVP_PKEY_fromdata`).
    static func fromData(type: String, selection: Int32, build: (ParamBuilder) throws -> Void) throws -> EVPKey {
        let builder = try ParamBuilder()
        try build(builder)
        // The builder (and the buffers it references) must outlive OSSL_PARAM_BLD_to_param.
        guard let params = withExtendedLifetime(builder, { OSSL_PARAM_BLD_to_param(builder.pointer) }) else {
            throw SIG0KeyError("cannot build key parameters: \(lastError())")
        }
        defer { OSSL_PARAM_free(params) }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { throw SIG0KeyError("OpenSSL lacks \(type)") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_fromdata_init(ctx) == 1, EVP_PKEY_fromdata(ctx, &key, selection, params) == 1, let key else {
            throw SIG0KeyError("OpenSSL refused the \(type) key: \(lastError())")
        }
        return EVPKey(key)
    }

    func bnParam(_ name: String, size: Int? = nil) throws -> [UInt8] {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pointer, name, &bn) == 1, let bn else { throw SIG0KeyError("key has no \(name)") }
        defer { BN_clear_free(bn) }
        let length = size ?? Int((BN_num_bits(bn) + 7) / 8)
        var out = [UInt8](repeating: 0, count: length)
        guard BN_bn2binpad(bn, &out, Int32(length)) == Int32(length) else { throw SIG0KeyError("\(name) does not fit \(length) octets") }
        return out
    }

    func octetParam(_ name: String) throws -> [UInt8] {
        var length = 0
        guard EVP_PKEY_get_octet_string_param(pointer, name, nil, 0, &length) == 1 else { throw SIG0KeyError("key has no \(name)") }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_get_octet_string_param(pointer, name, &out, length, &length) == 1 else { throw SIG0KeyError("key has no \(name)") }
        return Array(out.prefix(length))
    }
}

/// An `OSSL_PARAM_BLD` that keeps everything pushed into it alive until it is freed: the builder
/// holds names, strings and BIGNUMs by reference until `OSSL_PARAM_BLD_to_param` copies them.
final class ParamBuilder {
    let pointer: OpaquePointer
    private var numbers: [OpaquePointer] = []
    private var buffers: [UnsafeMutableRawPointer] = []

    init() throws {
        guard let pointer = OSSL_PARAM_BLD_new() else { throw SIG0KeyError("out of memory") }
        self.pointer = pointer
    }

    deinit {
        OSSL_PARAM_BLD_free(pointer)
        numbers.forEach { BN_clear_free($0) }
        buffers.forEach { $0.deallocate() }
    }

    func bn(_ name: String, _ bytes: [UInt8]) throws {
        guard let bn = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw SIG0KeyError("out of memory") }
        numbers.append(bn)
        guard OSSL_PARAM_BLD_push_BN(pointer, cString(name), bn) == 1 else { throw SIG0KeyError("cannot set \(name)") }
    }

    func octets(_ name: String, _ bytes: [UInt8]) throws {
        let copy = keep(bytes)
        guard OSSL_PARAM_BLD_push_octet_string(pointer, cString(name), copy, bytes.count) == 1 else { throw SIG0KeyError("cannot set \(name)") }
    }

    func utf8(_ name: String, _ value: String) throws {
        let copy = keep(Array(value.utf8) + [0])
        guard OSSL_PARAM_BLD_push_utf8_string(pointer, cString(name), copy.assumingMemoryBound(to: CChar.self), 0) == 1 else {
            throw SIG0KeyError("cannot set \(name)")
        }
    }

    /// Parameter names are kept by reference as well.
    private func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
        keep(Array(text.utf8) + [0]).assumingMemoryBound(to: CChar.self)
    }

    /// The builder keeps string and octet parameters by reference too: copy them into memory
    /// that lives as long as the builder.
    private func keep(_ bytes: [UInt8]) -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        if !bytes.isEmpty { bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) } }
        buffers.append(buffer)
        return buffer
    }
}

/// The newest OpenSSL error as text, and the queue cleared.
func lastError() -> String {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return "no detail" }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
