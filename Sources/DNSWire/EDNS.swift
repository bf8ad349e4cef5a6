/// The EDNS(0) OPT pseudo-record's contents (RFC 6891 §6.1). The extended RCODE bits are not
/// kept here: ``Message/rcode`` holds the whole 12-bit value.
public struct EDNS: Sendable, Hashable {
    /// Requestor's UDP payload size (the OPT CLASS field).
    public var udpPayloadSize: UInt16
    public var version: UInt8
    /// DNSSEC OK (RFC 3225).
    public var dnssecOK: Bool
    /// The other 15 flag bits, as received.
    public var z: UInt16
    public var options: [EDNSOption]

    /// 1232 octets: the DNS flag day 2020 default, which avoids fragmentation.
    public init(udpPayloadSize: UInt16 = 1232, version: UInt8 = 0, dnssecOK: Bool = false, z: UInt16 = 0, options: [EDNSOption] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.version = version
        self.dnssecOK = dnssecOK
        self.z = z
        self.options = options
    }

    /// Splits OPT RDATA into options (RFC 6891 §6.1.2).
    public static func parseOptions(_ rdata: [UInt8]) throws -> [EDNSOption] {
        var reader = WireReader(rdata)
        var options: [EDNSOption] = []
        while reader.remaining > 0 {
            let code = try reader.u16()
            let length = Int(try reader.u16())
            options.append(EDNSOption(code: code, data: try reader.take(length)))
        }
        return options
    }

    /// The OPT RDATA. An option longer than OPTION-LENGTH can say (65535 octets, RFC 6891
    /// §6.1.2) is cut to that length rather than trapping; the texts delegsync writes are bounded
    /// long before (``EDNSOption/boundedText(_:)``).
    public var optionsWire: [UInt8] {
        var out: [UInt8] = []
        for option in options {
            let data = option.data.prefix(Int(UInt16.max))
            out.appendU16(option.code)
            out.appendU16(UInt16(data.count))
            out.append(contentsOf: data)
        }
        return out
    }

    /// The OPT record in wire form (owner root, TYPE 41) carrying `rcode`'s high 8 bits.
    func optRecordWire(rcode: RCode) -> [UInt8] {
        var out: [UInt8] = [0]
        out.appendU16(RRType.opt.rawValue)
        out.appendU16(udpPayloadSize)
        out.append(UInt8(rcode.rawValue >> 4))
        out.append(version)
        out.appendU16((dnssecOK ? 0x8000 : 0) | (z & 0x7FFF))
        let data = optionsWire.prefix(Int(UInt16.max))
        out.appendU16(UInt16(data.count))
        out.append(contentsOf: data)
        return out
    }

    /// The first Extended DNS Error option, if any.
    public var extendedError: ExtendedDNSError? {
        options.lazy.compactMap { try? ExtendedDNSError(option: $0) }.first
    }

    /// Every Extended DNS Error option (RFC 8914 §3 allows several).
    public var extendedErrors: [ExtendedDNSError] {
        options.compactMap { try? ExtendedDNSError(option: $0) }
    }

    /// The first KeyState option with the given option code.
    public func keyState(code: UInt16 = KeyStateOption.defaultCode) -> KeyStateOption? {
        options.lazy.compactMap { try? KeyStateOption(option: $0, code: code) }.first
    }
}

/// One EDNS(0) option: OPTION-CODE and OPTION-DATA (RFC 6891 §6.1.2).
public struct EDNSOption: Sendable, Hashable {
    public var code: UInt16
    public var data: [UInt8]

    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }
}

extension EDNSOption {
    /// Most octets of EXTRA-TEXT delegsync writes into an option: enough for any reason a
    /// human reads, small enough that a reply stays well inside a UDP payload.
    public static let maximumExtraText = 1024

    /// `text` as UTF-8, cut at a character boundary to at most ``maximumExtraText`` octets
    /// (ending in "…" when cut).
    static func boundedText(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count > maximumExtraText else { return utf8 }
        var cut = String(decoding: [], as: UTF8.self)
        var size = 0
        let ellipsis = "…".utf8.count
        for character in text {
            let length = character.utf8.count
            guard size + length + ellipsis <= maximumExtraText else { break }
            cut.append(character)
            size += length
        }
        return Array((cut + "…").utf8)
    }
}

/// The Extended DNS Error option (RFC 8914 §2): INFO-CODE and an optional UTF-8 EXTRA-TEXT.
public struct ExtendedDNSError: Sendable, Hashable, CustomStringConvertible {
    /// OPTION-CODE 15 (RFC 8914 §2).
    public static let optionCode: UInt16 = 15

    public var infoCode: UInt16
    public var extraText: String

    public init(infoCode: UInt16, extraText: String = "") {
        self.infoCode = infoCode
        self.extraText = extraText
    }

    public init(option: EDNSOption) throws {
        guard option.code == Self.optionCode else {
            throw DNSWireError(.badRdata, "option \(option.code) is not an Extended DNS Error")
        }
        guard option.data.count >= 2 else { throw DNSWireError(.truncated, "Extended DNS Error shorter than 2 octets") }
        infoCode = UInt16(option.data[0]) << 8 | UInt16(option.data[1])
        // RFC 8914 §2: EXTRA-TEXT is UTF-8; a receiver may see a trailing NUL from sloppy senders.
        var text = Array(option.data[2...])
        while text.last == 0 { text.removeLast() }
        extraText = String(decoding: text, as: UTF8.self)
    }

    public var option: EDNSOption {
        var data: [UInt8] = []
        data.appendU16(infoCode)
        data.append(contentsOf: EDNSOption.boundedText(extraText))
        return EDNSOption(code: Self.optionCode, data: data)
    }

    /// Names of the RFC 8914 §4 codes delegsync uses or may meet.
    static let names: [UInt16: String] = [
        0: "Other Error", 1: "Unsupported DNSKEY Algorithm", 2: "Unsupported DS Digest Type",
        3: "Stale Answer", 4: "Forged Answer", 5: "DNSSEC Indeterminate", 6: "DNSSEC Bogus",
        7: "Signature Expired", 8: "Signature Not Yet Valid", 9: "DNSKEY Missing",
        10: "RRSIGs Missing", 11: "No Zone Key Bit Set", 12: "NSEC Missing", 13: "Cached Error",
        14: "Not Ready", 15: "Blocked", 16: "Censored", 17: "Filtered", 18: "Prohibited",
        19: "Stale NXDOMAIN Answer", 20: "Not Authoritative", 21: "Not Supported",
        22: "No Reachable Authority", 23: "Network Error", 24: "Invalid Data",
    ]

    public var description: String {
        let name = Self.names[infoCode] ?? (infoCode >= 49152 ? "Private Use" : "Unassigned")
        return extraText.isEmpty ? "\(infoCode) (\(name))" : "\(infoCode) (\(name)): \(extraText)"
    }
}

/// The KeyState EDNS(0) option (draft-berra-dnsop-keystate-02): KEY-ID (the key tag), KEY-STATE,
/// KEY-DATA and EXTRA-TEXT. The option code is not yet assigned by IANA; 65002 (the
/// local/experimental range of RFC 6891 §9) is what tdns uses.
public struct KeyStateOption: Sendable, Hashable, CustomStringConvertible {
    public static let defaultCode: UInt16 = 65002

    /// KEY-STATE values (draft-berra-dnsop-keystate-02).
    public struct State: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public init(_ rawValue: UInt8) { self.rawValue = rawValue }

        // Set by the child.
        public static let requestAutoBootstrap = State(0)
        public static let requestManualBootstrap = State(1)
        public static let inquiry = State(2)
        // Set by the receiver.
        public static let trusted = State(4)
        public static let unknown = State(5)
        public static let invalid = State(6)
        public static let refused = State(7)
        public static let validationFailed = State(8)
        public static let bootstrapAutoOngoing = State(9)
        public static let bootstrapManualRequired = State(10)

        public var description: String {
            switch rawValue {
            case 0: "request automatic bootstrap"
            case 1: "request manual bootstrap"
            case 2: "inquiry"
            case 4: "trusted"
            case 5: "unknown"
            case 6: "invalid"
            case 7: "refused"
            case 8: "validation failed"
            case 9: "automatic bootstrap ongoing"
            case 10: "manual bootstrap required"
            case 128...255: "private use \(rawValue)"
            default: "state \(rawValue)"
            }
        }
    }

    public var keyID: UInt16
    public var state: State
    public var keyData: UInt8
    public var extraText: String

    public init(keyID: UInt16, state: State, keyData: UInt8 = 0, extraText: String = "") {
        self.keyID = keyID
        self.state = state
        self.keyData = keyData
        self.extraText = extraText
    }

    public init(option: EDNSOption, code: UInt16 = Self.defaultCode) throws {
        guard option.code == code else { throw DNSWireError(.badRdata, "option \(option.code) is not KeyState (\(code))") }
        guard option.data.count >= 4 else { throw DNSWireError(.truncated, "KeyState option shorter than 4 octets") }
        keyID = UInt16(option.data[0]) << 8 | UInt16(option.data[1])
        state = State(option.data[2])
        keyData = option.data[3]
        extraText = String(decoding: option.data[4...], as: UTF8.self)
    }

    public func option(code: UInt16 = Self.defaultCode) -> EDNSOption {
        var data: [UInt8] = []
        data.appendU16(keyID)
        data.append(state.rawValue)
        data.append(keyData)
        data.append(contentsOf: EDNSOption.boundedText(extraText))
        return EDNSOption(code: code, data: data)
    }

    public var description: String {
        "key \(keyID) \(state) (\(state.rawValue))" + (extraText.isEmpty ? "" : ": \(extraText)")
    }
}
