/// A DNSSEC algorithm number as SIG(0) uses it (RFC 2931 §3 takes DNSSEC's registry; RFC 8624).
/// delegsync signs and verifies the four below; others are refused before any crypto.
public struct SIG0Algorithm: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// RSA/SHA-256, PKCS #1 v1.5 (RFC 5702).
    public static let rsaSHA256 = SIG0Algorithm(8)
    /// ECDSA P-256 with SHA-256, signature r||s (RFC 6605).
    public static let ecdsaP256SHA256 = SIG0Algorithm(13)
    /// ECDSA P-384 with SHA-384, signature r||s (RFC 6605).
    public static let ecdsaP384SHA384 = SIG0Algorithm(14)
    /// Ed25519 (RFC 8080).
    public static let ed25519 = SIG0Algorithm(15)

    /// The algorithms delegsync implements.
    public static let supported: [SIG0Algorithm] = [.rsaSHA256, .ecdsaP256SHA256, .ecdsaP384SHA384, .ed25519]

    public var isSupported: Bool { Self.supported.contains(self) }

    /// The mnemonic used by BIND (`dnssec-keygen -a`, key files).
    public var mnemonic: String? {
        switch rawValue {
        case 8: "RSASHA256"
        case 13: "ECDSAP256SHA256"
        case 14: "ECDSAP384SHA384"
        case 15: "ED25519"
        default: nil
        }
    }

    public var description: String { mnemonic ?? "algorithm \(rawValue)" }

    /// Parses a mnemonic (case-insensitive) or a number.
    public init?(mnemonic: String) {
        if let number = UInt8(mnemonic) {
            self.init(number)
            return
        }
        guard let match = Self.supported.first(where: { $0.mnemonic == mnemonic.uppercased() }) else { return nil }
        self = match
    }

    /// Size of one ECDSA coordinate or scalar (RFC 6605 §4), `nil` for non-ECDSA.
    var ecdsaFieldSize: Int? {
        switch rawValue {
        case 13: 32
        case 14: 48
        default: nil
        }
    }

    /// Exact signature size where the algorithm fixes it (RSA depends on the key).
    var fixedSignatureSize: Int? {
        switch rawValue {
        case 13: 64
        case 14: 96
        case 15: 64
        default: nil
        }
    }
}
