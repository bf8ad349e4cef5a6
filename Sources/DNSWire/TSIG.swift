import CLDNS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A TSIG key (RFC 8945): the name both ends know it by, the HMAC algorithm and the shared secret.
///
/// Parsed from a BIND key file (what `tsig-keygen` writes) or from the `[alg:]name:secret` strings
/// that `nsupdate -y` and `knsupdate -y` take. Reading the file is the caller's job (no I/O here).
///
/// Limitations: hmac-md5, hmac-sha224 and hmac-sha384 are not supported (ldns exports no MD5 or
/// SHA-224 digest, and its TSIG code, used to verify, knows no hmac-sha384); TSIG over
/// multi-message TCP streams (RFC 8945 §5.3.1) is not implemented.
public struct TSIGKey: Sendable, Hashable, CustomStringConvertible {
    public var name: DomainName
    /// The algorithm name with its trailing dot, lower case: "hmac-sha256.".
    public var algorithm: String
    public var secret: [UInt8]

    public init(name: DomainName, algorithm: String = "hmac-sha256.", secret: [UInt8]) throws {
        self.name = name
        self.algorithm = try TSIGAlgorithm(named: algorithm).name
        self.secret = secret
    }

    /// Never prints the secret.
    public var description: String { "TSIG key \(name) (\(algorithm))" }

    /// Parses the first `key "name" { algorithm …; secret "…"; };` clause of a BIND key file
    /// (as `tsig-keygen -a hmac-sha256 NAME` writes it).
    public init(bindKeyFile text: String) throws {
        var tokens = BINDConfigTokens(text)
        while let token = tokens.next(), token != "key" {}
        guard let keyName = tokens.next(), tokens.next() == "{" else {
            throw DNSWireError(.badPresentation, "no `key \"name\" {` clause in the key file")
        }
        var algorithm: String? = nil
        var secret: String? = nil
        while let token = tokens.next(), token != "}" {
            switch token.lowercased() {
            case "algorithm": algorithm = tokens.next()
            case "secret": secret = tokens.next()
            default: break
            }
        }
        guard let algorithm, let secret else {
            throw DNSWireError(.badPresentation, "key \"\(keyName)\" has no algorithm or no secret")
        }
        try self.init(name: DomainName(keyName), algorithm: algorithm, secret: TSIGBase64.decode(secret))
    }

    /// Parses `name:secret` (algorithm hmac-sha256) or `algorithm:name:secret`, the forms
    /// `nsupdate -y` and `knsupdate -y` take; the secret is base64.
    public init(string: String) throws {
        let parts = string.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 2: try self.init(name: DomainName(parts[0]), secret: TSIGBase64.decode(parts[1]))
        case 3: try self.init(name: DomainName(parts[1]), algorithm: parts[0], secret: TSIGBase64.decode(parts[2]))
        default: throw DNSWireError(.badPresentation, "a TSIG key string is [algorithm:]name:secret")
        }
    }

    /// The secret in base64, as key files and `-y` arguments carry it.
    public var base64Secret: String { TSIGBase64.encode(secret) }

    /// `hmac-sha256:name:secret` for `knsupdate -y` / `nsupdate -y`.
    public var yArgument: String {
        "\(algorithm.dropLast()):\(name):\(base64Secret)"
    }

    /// A BIND key file clause (`include` it in named.conf, or pass it to `nsupdate -k`).
    public var bindKeyFile: String {
        "key \"\(name)\" {\n\talgorithm \(algorithm.dropLast());\n\tsecret \"\(base64Secret)\";\n};\n"
    }
}

/// The RDATA of a TSIG record (RFC 8945 §4.2).
public struct TSIGRecordData: Sendable, Hashable {
    public var algorithm: DomainName
    /// Seconds since the epoch, 48 bits on the wire.
    public var timeSigned: UInt64
    public var fudge: UInt16
    public var mac: [UInt8]
    public var originalID: UInt16
    /// The TSIG error (RFC 8945 §5.2: BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22).
    public var error: RCode
    public var otherData: [UInt8]

    public init(rdata: [UInt8]) throws {
        let (algorithm, next) = try DomainName.read(from: rdata, at: 0)
        var reader = WireReader(rdata, at: next)
        self.algorithm = algorithm
        timeSigned = UInt64(try reader.u16()) << 32 | UInt64(try reader.u32())
        fudge = try reader.u16()
        mac = try reader.take(Int(try reader.u16()))
        originalID = try reader.u16()
        error = RCode(try reader.u16())
        otherData = try reader.take(Int(try reader.u16()))
        guard reader.remaining == 0 else { throw DNSWireError(.trailingData, "\(reader.remaining) octets after the TSIG RDATA") }
    }
}

/// Signs a request with TSIG (RFC 8945 §4.3.3, §5.1): HMAC over the message as given and the TSIG
/// variables, then the TSIG record appended as the last additional record (ARCOUNT + 1).
///
/// `time` is the signing time in seconds since the epoch; the caller passes now. The message
/// bytes are signed as they are, never re-encoded. The HMAC is built (RFC 2104) on ldns's SHA-1
/// and SHA-2 digests; ldns's own `ldns_pkt_tsig_sign` reads the clock itself, so it cannot take
/// the time as a parameter (tests compare both byte for byte).
public func tsigSigned(_ message: [UInt8], key: TSIGKey, time: UInt64, fudge: UInt16 = 300) throws -> [UInt8] {
    guard message.count >= MessageLayout.headerLength else {
        throw DNSWireError(.truncated, "\(message.count) octets is shorter than a DNS header")
    }
    let algorithm = try TSIGAlgorithm(named: key.algorithm)
    let algorithmName = try DomainName(algorithm.name).lowercased
    let id = UInt16(message[0]) << 8 | UInt16(message[1])
    let variables = TSIGVariables(keyName: key.name, algorithm: algorithmName, time: time, fudge: fudge, error: 0, otherData: [])
    let mac = algorithm.hmac(key: key.secret, message + variables.wire)
    var rdata = algorithmName.wire
    variables.appendTimers(to: &rdata)
    rdata.appendU16(UInt16(mac.count))
    rdata += mac
    rdata.appendU16(id)
    rdata.appendU16(0)
    rdata.appendU16(0)
    let record = Record(name: key.name, type: .tsig, rrClass: .any, ttl: 0, rdata: rdata)
    var out = message + record.wire
    let count = (UInt16(out[10]) << 8 | UInt16(out[11])) &+ 1
    out[10] = UInt8(count >> 8)
    out[11] = UInt8(count & 0xFF)
    guard out.count <= Message.maxLength else { throw DNSWireError(.encoding, "signed message of \(out.count) octets is over 65535") }
    return out
}

/// The TSIG record data of a signed message (its last additional record), or nil when unsigned.
public func tsigRecordData(of message: [UInt8]) throws -> TSIGRecordData? {
    let layout = try MessageLayout(scanning: message)
    guard let last = layout.spans.last, last.section == .additional, last.type == .tsig else { return nil }
    return try TSIGRecordData(rdata: Array(message[last.rdataStart..<last.end]))
}

/// Checks the TSIG of a response to `request` (RFC 8945 §5.3): the MAC, computed by ldns
/// (`ldns_pkt_tsig_verify`) over the response and the request's MAC, the key and algorithm, the
/// TSIG error field, and that `time` (now, from the caller) is within the fudge of the time signed.
/// Returns the TSIG data; throws with the reason otherwise.
@discardableResult
public func tsigVerifyResponse(_ response: [UInt8], request: [UInt8], key: TSIGKey, time: UInt64) throws -> TSIGRecordData {
    guard let requestTSIG = try tsigRecordData(of: request) else {
        throw DNSWireError(.badRdata, "the request is not TSIG-signed")
    }
    guard let tsig = try tsigRecordData(of: response) else {
        throw DNSWireError(.badRdata, "the response carries no TSIG (RFC 8945 §5.3 wants one)")
    }
    let layout = try MessageLayout(scanning: response)
    guard let owner = layout.spans.last?.owner, owner == key.name else {
        throw DNSWireError(.badRdata, "the response is signed with key \(layout.spans.last?.owner.description ?? "?"), not \(key.name)")
    }
    guard tsig.error == .noError else {
        throw DNSWireError(.badRdata, "the server reports TSIG error \(tsig.error)")
    }
    guard tsig.algorithm == (try DomainName(key.algorithm)) else {
        throw DNSWireError(.badRdata, "the response uses algorithm \(tsig.algorithm), the key is \(key.algorithm)")
    }
    guard try LDNS.tsigVerify(response, key: key, requestMAC: requestTSIG.mac) else {
        throw DNSWireError(.badRdata, "the response's TSIG MAC does not verify with \(key)")
    }
    let skew = time > tsig.timeSigned ? time - tsig.timeSigned : tsig.timeSigned - time
    guard skew <= UInt64(tsig.fudge) else {
        throw DNSWireError(.badRdata, "the response was signed \(skew) s from now, beyond the fudge of \(tsig.fudge) s (BADTIME)")
    }
    return tsig
}

/// The TSIG variables (RFC 8945 §4.3.3) that go into the MAC after the message.
struct TSIGVariables {
    var keyName: DomainName
    var algorithm: DomainName
    var time: UInt64
    var fudge: UInt16
    var error: UInt16
    var otherData: [UInt8]

    func appendTimers(to out: inout [UInt8]) {
        out.appendU16(UInt16(truncatingIfNeeded: time >> 32))
        out.appendU32(UInt32(truncatingIfNeeded: time))
        out.appendU16(fudge)
    }

    var wire: [UInt8] {
        var out = keyName.lowercased.wire
        out.appendU16(RRClass.any.rawValue)
        out.appendU32(0)
        out += algorithm.lowercased.wire
        appendTimers(to: &out)
        out.appendU16(error)
        out.appendU16(UInt16(otherData.count))
        out += otherData
        return out
    }
}

/// The HMAC algorithms (RFC 8945 §6) with the digest ldns provides.
struct TSIGAlgorithm {
    let name: String
    let blockSize: Int
    let digest: ([UInt8]) -> [UInt8]

    init(named text: String) throws {
        var lower = text.lowercased()
        if !lower.hasSuffix(".") { lower += "." }
        name = lower
        switch lower {
        case "hmac-sha1.":
            blockSize = 64
            digest = { Self.run($0, length: 20, ldns_sha1) }
        case "hmac-sha256.":
            blockSize = 64
            digest = { Self.run($0, length: 32, ldns_sha256) }
        case "hmac-sha512.":
            blockSize = 128
            digest = { Self.run($0, length: 64, ldns_sha512) }
        default:
            throw DNSWireError(.badPresentation, "TSIG algorithm \(text) is not supported (hmac-sha1, hmac-sha256, hmac-sha512)")
        }
    }

    static func run(
        _ data: [UInt8], length: Int, _ function: (UnsafePointer<UInt8>?, UInt32, UnsafeMutablePointer<UInt8>?) -> UnsafeMutablePointer<UInt8>?
    ) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { _ = function(input.baseAddress, UInt32(input.count), $0.baseAddress) }
        }
        return out
    }

    /// RFC 2104: H((K ^ opad) || H((K ^ ipad) || text)).
    func hmac(key: [UInt8], _ text: [UInt8]) -> [UInt8] {
        HMAC.authenticate(text, key: key, blockSize: blockSize, digest: digest)
    }
}

/// Base64 through ldns (DNSWire does not use Foundation).
enum TSIGBase64 {
    static func decode(_ text: String) throws -> [UInt8] {
        var rdf: UnsafeMutablePointer<ldns_rdf>? = nil
        let status = ldns_str2rdf_b64(&rdf, text)
        guard status == LDNS_STATUS_OK, let rdf else { throw DNSWireError(.badPresentation, "the TSIG secret is not base64") }
        defer { ldns_rdf_deep_free(rdf) }
        return Array(UnsafeBufferPointer(start: ldns_rdf_data(rdf), count: ldns_rdf_size(rdf)))
    }

    static func encode(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "" }
        let rdf = bytes.withUnsafeBufferPointer { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_B64, $0.count, $0.baseAddress) }
        defer { ldns_rdf_deep_free(rdf) }
        return LDNS.string(ldns_rdf2str(rdf)) ?? ""
    }
}

/// Tokens of BIND's configuration syntax: words, quoted strings (unquoted), `{`, `}`, `;`;
/// comments (`#`, `//`, `/* */`) skipped.
struct BINDConfigTokens: IteratorProtocol {
    var characters: [Character]
    var index = 0

    init(_ text: String) { characters = Array(text) }

    mutating func next() -> String? {
        while index < characters.count {
            let c = characters[index]
            if c.isWhitespace {
                index += 1
            } else if c == "#" || (c == "/" && peek(1) == "/") {
                while index < characters.count, characters[index] != "\n" { index += 1 }
            } else if c == "/" && peek(1) == "*" {
                index += 2
                while index < characters.count, !(characters[index] == "*" && peek(1) == "/") { index += 1 }
                index += 2
            } else {
                break
            }
        }
        guard index < characters.count else { return nil }
        let c = characters[index]
        if "{};".contains(c) {
            index += 1
            return String(c)
        }
        if c == "\"" {
            index += 1
            var out = ""
            while index < characters.count, characters[index] != "\"" {
                out.append(characters[index])
                index += 1
            }
            index += 1
            return out
        }
        var out = ""
        while index < characters.count, !characters[index].isWhitespace, !"{};\"".contains(characters[index]) {
            out.append(characters[index])
            index += 1
        }
        return out
    }

    func peek(_ offset: Int) -> Character? {
        index + offset < characters.count ? characters[index + offset] : nil
    }
}

extension LDNS {
    /// `ldns_pkt_tsig_verify` over the received bytes; `requestMAC` is the request's MAC
    /// (RFC 8945 §5.3: it goes first into the response's digest).
    static func tsigVerify(_ response: [UInt8], key: TSIGKey, requestMAC: [UInt8]) throws -> Bool {
        var packet: UnsafeMutablePointer<ldns_pkt>? = nil
        let status = response.withUnsafeBufferPointer { ldns_wire2pkt(&packet, $0.baseAddress, $0.count) }
        guard status == LDNS_STATUS_OK, let packet else { throw error(status, "response") }
        defer { ldns_pkt_free(packet) }
        // An INT16_DATA rdf: two octets of length, then the MAC.
        var macData: [UInt8] = []
        macData.appendU16(UInt16(requestMAC.count))
        macData += requestMAC
        let mac = macData.withUnsafeBufferPointer { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, $0.count, $0.baseAddress) }
        defer { ldns_rdf_deep_free(mac) }
        let name = key.name.description
        let secret = key.base64Secret
        return response.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) -> Bool in
            ldns_pkt_tsig_verify(packet, buffer.baseAddress, buffer.count, name, secret, mac) != 0
        }
    }

    /// Signs with `ldns_pkt_tsig_sign`, which takes the time from the clock itself; only for
    /// tests that cross-check ``tsigSigned(_:key:time:fudge:)`` (re-encodes the message).
    static func tsigSignedNow(_ message: [UInt8], key: TSIGKey, fudge: UInt16 = 300) throws -> [UInt8] {
        var packet: UnsafeMutablePointer<ldns_pkt>? = nil
        let status = message.withUnsafeBufferPointer { ldns_wire2pkt(&packet, $0.baseAddress, $0.count) }
        guard status == LDNS_STATUS_OK, let packet else { throw error(status, "message") }
        defer { ldns_pkt_free(packet) }
        let signed = ldns_pkt_tsig_sign(packet, key.name.description, key.base64Secret, fudge, key.algorithm, nil)
        guard signed == LDNS_STATUS_OK else { throw error(signed, "ldns_pkt_tsig_sign") }
        var dest: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let encoded = ldns_pkt2wire(&dest, packet, &size)
        guard encoded == LDNS_STATUS_OK, let dest else { throw error(encoded, "encoding the signed message") }
        defer { free(dest) }
        return Array(UnsafeBufferPointer(start: dest, count: size))
    }
}
