// SIG(0) verification throughput on one core, next to `openssl speed` on the same machine in
// the same run. Run with: swift run -c release SIG0Bench [seconds-per-measurement]
//
// "full" is what a receiver does per message: scan the received bytes, locate and check the
// SIG(0), precheck signer/time/key, assemble the signed data and verify. "crypto" is the
// signature check alone over prepared data, which is what `openssl speed` measures.
import BenchSupport
import DNSWire
import Foundation
import SIG0

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 3

/// Runs `body` repeatedly for `seconds` and returns calls per second.
func rate(_ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<100 { try body() }  // warm up
    var count = 0
    let start = monotonicSeconds()
    var elapsed = 0.0
    repeat {
        for _ in 0..<200 { try body() }
        count += 200
        elapsed = monotonicSeconds() - start
    } while elapsed < seconds
    return Double(count) / elapsed
}

var update = Update(zone: try DomainName("parent."))
update.deleteRRset(try DomainName("child.parent."), .ns)
update.add(try Record("child.parent. 3600 IN NS ns1.child.parent."))
update.add(try Record("child.parent. 3600 IN NS ns.provider.example."))
update.add(try Record("ns1.child.parent. 3600 IN A 192.0.2.1"))
let unsigned = try update.message(id: 0x1234).wireFormat()
let now: UInt32 = 1_800_000_000
let child = try DomainName("child.parent.")
let verifier = SIG0Verifier()

print("SIG(0) verification, one core, \(Int(seconds)) s per figure; message of \(unsigned.count) octets before signing")
print(String(repeating: "-", count: 96))
print("algorithm        delegsync full/s  delegsync crypto/s  openssl speed verify/s  ratio full  ratio crypto")
for (algorithm, speedName, marker) in [(SIG0Algorithm.ed25519, "ed25519", "Ed25519"), (.ecdsaP256SHA256, "ecdsap256", "nistp256")] {
    let keyFile = try BINDKeyFile.generate(owner: child, algorithm: algorithm)
    let signed = try SIG0Signer(keyFile: keyFile).sign(unsigned, now: now)
    let publicKey = try SIG0PublicKey(keyFile.keyData)
    let full = try rate {
        try verifier.verify(message: signed, key: publicKey, expectedSigner: child, now: now)
    }
    let signature = try SIG0Signature(message: signed)
    let data = signature.signedData()
    let crypto = rate {
        precondition(publicKey.verify(signature.sig.signature, over: data))
    }
    let openssl = opensslVerifyRate(speedName, marker: marker, seconds: seconds)
    func ratio(_ value: Double) -> String { openssl.map { String(format: "%.2f", value / $0) } ?? "n/a" }
    func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
    let opensslText = openssl.map { String(format: "%.0f", $0) } ?? "n/a"
    print(
        algorithm.description.padding(toLength: 16, withPad: " ", startingAt: 0)
            + pad(String(format: "%.0f", full), 17) + pad(String(format: "%.0f", crypto), 20)
            + pad(opensslText, 24) + pad(ratio(full), 12) + pad(ratio(crypto), 14))
}
