import DNSWire
import SIG0

/// The fixed names, time and keys the fuzz targets and their seed generator share, so that the
/// committed seeds verify inside the targets run after run.
///
/// All private keys here are TEST-ONLY; their seeds are public. The child's key and the
/// receiver's key are the spec-digest vectors' keys (`Tests/SIG0Tests/Vectors`,
/// `Kchild.parent.+015+34514` and `Kupdater.parent.+015+11785`).
public enum FuzzKeys {
    /// The fixed clock: 2026-11-29 13:58:47 UTC, the middle of the signing window of the BIND
    /// `nsupdate` captures in `Tests/SIG0Tests/Vectors` (1795920427…1795921027), so those verify.
    public static let now: Int64 = 1_795_920_727

    public static let zone = try! DomainName("parent.")
    public static let child = try! DomainName("child.parent.")
    /// A second child with its own trusted key: nothing signed for `child` may touch it.
    public static let other = try! DomainName("other.parent.")
    /// The child of the mixed-case BIND capture (`MiXed.Parent.`).
    public static let mixed = try! DomainName("mixed.parent.")
    /// The receiver's own name (its replies are signed with ``receiver``).
    public static let receiverName = try! DomainName("updater.parent.")

    /// The trusted key of `child.parent.` (seed 00…1f).
    public static let childKey = ed25519(owner: child, seedStart: 0x00)
    /// A key the child has not had trusted (seed 40…5f): self-signed uploads, inquiries.
    public static let strangerKey = ed25519(owner: child, seedStart: 0x40)
    /// The trusted key of `other.parent.` (seed 60…7f).
    public static let otherKey = ed25519(owner: other, seedStart: 0x60)
    /// The receiver's identity (seed 20…3f), signing every reply of `handle`.
    public static let receiver = ed25519(owner: receiverName, seedStart: 0x20)

    /// The public halves of the keys that signed the BIND `nsupdate` captures
    /// (`Tests/SIG0Tests/Vectors/K*.key`, made by `dnssec-keygen -T KEY -n HOST`), trusted in
    /// the receiver target so that the captures reach the policy and the commit.
    public static let bindCaptureKeys: [Record] = [
        "child.parent. IN KEY 512 3 8 AwEAAbYvXhEnp2KPr9+trwdara4Ll2Qfq5zwYmXoPjE4zkfpjEX/JFpT keZzanW2VwkMdoGGSKNszfHdExApvYJ+/SkIE8WqvQImw0bL+8nTg24V kUUIBpSNowUMFSPCldZt20TLt2/cU0hWeQAP0bLake0rGnb27sx6gT8Y eARB2lTARUCW4E2OC0TodGRWS+DG99vsWGf1MS9TYKLMKYnQfjjvP7PI XrMXwG8Oese0bRD1VIhCDxBFsvL+ziC3FV8Y8PuUQdGB+j+/wL7XGc4U RdxDAxzdMYDX1X9d9Sk2iBQFLr09hCBJYxEpq/otnd9YgElPdNXxN+2i 0Wl9or6gC48=",
        "child.parent. IN KEY 512 3 13 wzR9ziPXyxtVFixXuW/SyLCO3sum6FqV5WBMMnTWAVZE5HOloSuzVY8x WxK4UomdbSSmNCcshi18ztJI9bqkHQ==",
        "child.parent. IN KEY 512 3 14 4MRsZWBBDHrqxKNuEXP/qkbNppUJ5X8V+JBHkl0vGZaYZUmyWI7mC3bt HAgfdTZvWRhXj4H8Ha1+F2Hl2nlqi0fYWl/Y7EG52GqJT0B2W+gUziPZ 2LWKoFr59fup28rS",
        "child.parent. IN KEY 512 3 15 wc7mEktmlvPVtl+RuLnovQHKPkLysLBUhcCnS6xStRw=",
        "child.parent. IN KEY 512 3 15 zqBC/rJgE7MbhrmpiXKF8cyD8yWnqYOaP4/iQt0wHhU=",
        "MiXed.Parent. IN KEY 512 3 13 6XAOLpPr2o8suef2yz7N7XyGpJxkSkqp2jwZIHHSjwlCu5xuCxRpuSwP OHAPFVJn6nBgkJjvGCLTd0/YInKE1Q==",
    ].map { try! BINDKeyFile.parseKeyFile($0) }

    /// An Ed25519 key whose 32-octet seed counts up from `seedStart`.
    static func ed25519(owner: DomainName, seedStart: UInt8) -> BINDKeyFile {
        let seed = (0..<32).map { seedStart &+ UInt8($0) }
        let key = try! SIG0PrivateKey(algorithm: .ed25519, bindFields: ["PrivateKey": seed], publicKey: nil)
        let data = KEYData(flags: 512, algorithm: SIG0Algorithm.ed25519.rawValue, publicKey: key.publicKey)
        return try! BINDKeyFile(record: Record(name: owner, type: .key, ttl: 3600, rdata: data.rdata), privateKey: key)
    }
}
