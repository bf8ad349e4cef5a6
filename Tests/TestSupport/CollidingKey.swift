import DNSWire
import SIG0

/// The attacker's tool from DESIGN.md's threat table: a SIG(0) key of its own whose key tag
/// equals a victim's (RFC 4034 Appendix B tags are a 16-bit checksum). Found by brute force, as
/// an attacker would: fresh Ed25519 keys, each tried with the three KEY flags values a receiver
/// accepts (0, 256, 512); about 22,000 key generations on average, a few seconds.
public enum CollidingKey {
    public static func make(owner: DomainName, tag: UInt16, notRDATA: [UInt8]? = nil) throws -> BINDKeyFile {
        while true {
            let candidate = try BINDKeyFile.generate(owner: owner)
            for flags: UInt16 in [512, 256, 0] {
                let data = KEYData(flags: flags, algorithm: candidate.keyData.algorithm, publicKey: candidate.keyData.publicKey)
                guard data.keyTag == tag, data.rdata != notRDATA else { continue }
                return try BINDKeyFile(
                    record: Record(name: owner, type: .key, ttl: candidate.record.ttl, rdata: data.rdata), privateKey: candidate.privateKey!)
            }
        }
    }
}
