import XCTest
@testable import DNSWire

final class ScratchTests: XCTestCase {
    func testScratch() throws {
        let hex = """
60ac2800000100000004000106706172656e740000060001056368696c64c00c
000200ff000000000000c0180002000100000e100006036e7331c018c0180002
000100000e100015026e730870726f7669646572076578616d706c6500c03600
01000100000e100004c000020100001800ff00000000006000000f0000000000
6b0b83076b0b80af76e6056368696c6406706172656e7400eaa4a6d62d83d2f6
7a394b614d1d0362792c0ca9e8838088cf44efc13482658c07fa4ace9b70a9d3
a7dab43a9ab88233b4271a1ac1796f788bf34dd85098eb03
"""
        let bytes = [UInt8](hex: hex)!
        let m = try Message(wire: bytes)
        print(m)
        let re = try m.wireFormat()
        print(re == bytes, re.count, bytes.count, re.hexString)
        var u = Update(zone: try DomainName("parent."))
        u.deleteRRset(try DomainName("child.parent."), .ns)
        u.add(try Record("child.parent. 3600 IN NS ns1.child.parent."))
        u.add(try Record("_dsync.parent. 3600 IN DSYNC ANY UPDATE 5302 updater.parent."))
        u.delete(try Record("child.parent. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"))
        u.deleteName(try DomainName("x.child.parent."))
        let msg = u.message(id: 7, edns: EDNS(options: [ExtendedDNSError(infoCode: 18, extraText: "hi").option]))
        print(msg)
        let w = try msg.wireFormat()
        let back = try Message(wire: w)
        print(back == msg)
        print(NSUpdateScript(update: u).text)
        print(try Record("child.parent. 3600 IN KEY 512 3 15 ocKeyHhivrJOnjDi55LDAlABBJlKtTxR9aG9J1T+7Lc="))
        print(try Record("_dsync.parent. IN TYPE66 \\# 21 00FF0214B6077570646174657206706172656E7400"))
    }
}
