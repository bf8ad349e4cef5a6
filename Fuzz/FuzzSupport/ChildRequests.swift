import DNSWire
import SIG0

/// The two requests the child fuzz target takes replies to be for: a signed delegation UPDATE
/// (ID 0x4a10) and a signed KeyState inquiry (ID 0x4a11), both by ``FuzzKeys/childKey`` at
/// ``FuzzKeys/now``. Ed25519 is deterministic, so the bytes are the same on every run and the
/// receiver's signed replies in the seed corpus verify against them.
public enum ChildRequests {
    public static let updateID: UInt16 = 0x4a10
    public static let inquiryID: UInt16 = 0x4a11

    public static let update: [UInt8] = {
        var update = Update(zone: FuzzKeys.zone)
        update.deleteRRset(FuzzKeys.child, .ns)
        update.add(try! Record("child.parent. 3600 IN NS ns1.child.parent."))
        update.add(try! Record("child.parent. 3600 IN NS ns.provider.example."))
        update.add(try! Record("ns1.child.parent. 3600 IN A 192.0.2.1"))
        let edns = EDNS(options: [KeyStateOption(keyID: FuzzKeys.childKey.keyTag, state: .inquiry).option()])
        let bytes = try! update.message(id: updateID, edns: edns).wireFormat()
        return try! SIG0Signer(keyFile: FuzzKeys.childKey).sign(bytes, now: UInt32(FuzzKeys.now))
    }()

    public static let inquiry: [UInt8] = {
        var header = Header()
        header.id = inquiryID
        let option = KeyStateOption(keyID: FuzzKeys.childKey.keyTag, state: .inquiry).option()
        let query = try! Message(header: header, question: [Question(name: FuzzKeys.child, type: .key)], edns: EDNS(options: [option])).wireFormat()
        return try! SIG0Signer(keyFile: FuzzKeys.childKey).sign(query, now: UInt32(FuzzKeys.now))
    }()

    /// The request a reply with `id` answers (the UPDATE for any other ID: then the ID check
    /// refuses it).
    public static func request(forReplyID id: UInt16) -> [UInt8] {
        id == inquiryID ? inquiry : update
    }
}
