import DNSWire
import Foundation
import FuzzSupport
import SIG0

/// Writes the seed corpora of the fuzz targets, deterministically (fixed keys and time, Ed25519),
/// with the project's own encoder and signer, plus copies of the real BIND `nsupdate` captures
/// and spec vectors from `Tests/SIG0Tests/Vectors`:
///
///     swift run FuzzSeeds Fuzz/Corpus Tests/SIG0Tests/Vectors
///
/// `Fuzz/Corpus/receiver` holds requests to the parent's receiver (the header ID picks the path,
/// see `ReceiverHarness`); `Fuzz/Corpus/child` holds the parent's replies to the child's two
/// fixed requests (`ChildRequests`), NOTIFYs, and the captures again.
@main enum FuzzSeeds {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 3 else {
            print("usage: FuzzSeeds CORPUS-DIRECTORY VECTORS-DIRECTORY")
            exit(2)
        }
        let corpus = URL(fileURLWithPath: arguments[1])
        let vectors = URL(fileURLWithPath: arguments[2])
        var receiver = Seeds(directory: corpus.appendingPathComponent("receiver"))
        var child = Seeds(directory: corpus.appendingPathComponent("child"))
        for name in captures {
            let bytes = Array(try Data(contentsOf: vectors.appendingPathComponent(name + ".bin")))
            receiver.write("capture-" + name, bytes)
            child.write("capture-" + name, bytes)
        }
        child.write("capture-vector4-response", Array(try Data(contentsOf: vectors.appendingPathComponent("vector4-response.bin"))))
        try receiverSeeds(&receiver)
        try childSeeds(&child)
        print("wrote \(receiver.count) receiver seeds, \(child.count) child seeds")
    }

    /// BIND 9.18.49 `nsupdate -k` captures (UDP and TCP, algorithms 8, 13, 14, 15, mixed case) and
    /// the spec digest's vectors; see Tests/SIG0Tests/Vectors/README.md.
    static let captures = [
        "nsupdate-alg8", "nsupdate-alg13", "nsupdate-alg14", "nsupdate-alg15", "nsupdate-tcp-alg15", "nsupdate-mixedcase-alg13",
        "bind-17.0-ed25519", "vector1-unsigned", "vector1-update", "vector2-bootstrap", "vector3-keystate-inquiry",
    ]

    static let now = UInt32(FuzzKeys.now)
    static let child = FuzzKeys.child

    /// The header ID of a receiver seed: `serial` in the high bits, the path in the low four
    /// (bit 0 UDP, bit 1 handle, bits 2–3 `10` sign with the trusted key, `11` with a stranger's).
    static func id(_ serial: UInt16, udp: Bool = false, handle: Bool = false, harnessSigns: SIG0Signer? = nil) -> UInt16 {
        var id = serial << 4 | (udp ? 1 : 0) | (handle ? 2 : 0)
        if let harnessSigns { id |= harnessSigns.keyTag == FuzzKeys.childKey.keyTag ? 0b1000 : 0b1100 }
        return id
    }

    static func receiverSeeds(_ seeds: inout Seeds) throws {
        let trusted = try SIG0Signer(keyFile: FuzzKeys.childKey)
        let stranger = try SIG0Signer(keyFile: FuzzKeys.strangerKey)
        let other = try SIG0Signer(keyFile: FuzzKeys.otherKey)

        func update(_ operations: [Update.Operation], prerequisites: [Update.Prerequisite] = [], edns: EDNS? = EDNS(), id: UInt16) throws -> [UInt8] {
            try Update(zone: FuzzKeys.zone, prerequisites: prerequisites, operations: operations).message(id: id, edns: edns).wireFormat()
        }
        let change: [Update.Operation] = [
            .deleteRRset(child, .ns),
            .add(try Record("child.parent. 3600 IN NS ns1.child.parent.")),
            .add(try Record("child.parent. 3600 IN NS ns.provider.example.")),
            .add(try Record("ns1.child.parent. 3600 IN A 192.0.2.1")),
            .add(try Record("ns1.child.parent. 3600 IN AAAA 2001:db8::1")),
            .add(try Record("child.parent. 3600 IN DS 12345 15 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de8c4a3d2d4f9b1f2c7c2c3f1a")),
        ]
        // A delegation change signed by the child's trusted key: decide and handle, TCP and UDP.
        for (serial, udp, handle) in [(1, false, false), (2, false, true), (3, true, true)] as [(UInt16, Bool, Bool)] {
            seeds.write(
                "update-signed\(udp ? "-udp" : "-tcp")\(handle ? "-handle" : "")",
                try trusted.sign(update(change, id: id(serial, udp: udp, handle: handle)), now: now))
        }
        // The same change unsigned: refused as it is; signed by the harness in the second.
        seeds.write("update-unsigned", try update(change, id: id(4)))
        seeds.write("update-harness-signs", try update(change, id: id(5, handle: true, harnessSigns: trusted)))
        seeds.write("update-no-opt-harness-signs", try update(change, edns: nil, id: id(6, harnessSigns: trusted)))
        // With prerequisites (RFC 2136 §2.4).
        seeds.write(
            "update-prerequisites-harness-signs",
            try update(
                [.add(try Record("child.parent. 3600 IN NS ns2.child.parent.")), .add(try Record("ns2.child.parent. 3600 IN A 192.0.2.2"))],
                prerequisites: [.rrsetExists(child, .ns), .nameNotInUse(try DomainName("ns2.child.parent.")), .rrsetDoesNotExist(child, .ds)],
                id: id(7, handle: true, harnessSigns: trusted)))
        // Policy refusals: another child, the parent's apex, a type not allowed, glue out of bailiwick.
        let refused: [(String, Update.Operation)] = [
            ("other-child", .deleteRRset(FuzzKeys.other, .ns)),
            ("parent-apex", .add(try Record("parent. 3600 IN NS ns.evil.example."))),
            ("txt", .add(try Record("child.parent. 3600 IN TXT \"x\""))),
            ("glue-out-of-bailiwick", .add(try Record("ns.provider.example. 3600 IN A 192.0.2.9"))),
            ("delete-name", .deleteName(child)),
        ]
        for (index, (name, operation)) in refused.enumerated() {
            seeds.write("update-refused-" + name, try trusted.sign(update([operation], id: id(8 + UInt16(index), handle: index % 2 == 0)), now: now))
        }
        // Outside the time window (BADTIME), and signed by a key the child has not had trusted (BADKEY).
        seeds.write("update-stale", try trusted.sign(update(change, id: id(13, handle: true)), now: now - 7200))
        seeds.write("update-untrusted-key", try stranger.sign(update(change, id: id(14, handle: true)), now: now))
        // The other child's own key, for its own delegation.
        seeds.write(
            "update-other-child",
            try other.sign(
                Update(
                    zone: FuzzKeys.zone,
                    operations: [.add(try Record("other.parent. 3600 IN NS ns2.other.parent.")), .add(try Record("ns2.other.parent. 3600 IN A 192.0.2.54"))]
                )
                .message(id: id(15, handle: true)).wireFormat(), now: now))

        // Self-signed key uploads (the DDNS draft): over TCP, with and without KeyState; over UDP (refused).
        func upload(_ key: BINDKeyFile, state: KeyStateOption.State?, id: UInt16) throws -> [UInt8] {
            var upload = Update(zone: FuzzKeys.zone)
            upload.deleteRRset(child, .key)
            upload.add(key.record)
            let edns = EDNS(options: state.map { [KeyStateOption(keyID: key.keyTag, state: $0).option()] } ?? [])
            return try upload.message(id: id, edns: edns).wireFormat()
        }
        seeds.write("upload-auto-tcp-handle", try stranger.sign(upload(FuzzKeys.strangerKey, state: .requestAutoBootstrap, id: id(16, handle: true)), now: now))
        seeds.write("upload-manual-tcp", try stranger.sign(upload(FuzzKeys.strangerKey, state: .requestManualBootstrap, id: id(17)), now: now))
        seeds.write("upload-plain-tcp", try stranger.sign(upload(FuzzKeys.strangerKey, state: nil, id: id(18)), now: now))
        seeds.write(
            "upload-udp-handle", try stranger.sign(upload(FuzzKeys.strangerKey, state: .requestAutoBootstrap, id: id(19, udp: true, handle: true)), now: now))
        seeds.write("upload-harness-signs", try upload(FuzzKeys.strangerKey, state: .requestAutoBootstrap, id: id(20, handle: true, harnessSigns: stranger)))
        // A rollover's first step: the trusted key signs the new key in.
        seeds.write(
            "rollover-signed",
            try trusted.sign(
                Update(zone: FuzzKeys.zone, operations: [.add(FuzzKeys.strangerKey.record)]).message(id: id(21, handle: true)).wireFormat(), now: now))

        // KeyState inquiries (draft-berra-dnsop-keystate): signed by the key asked about, by
        // another key, unsigned, and over UDP.
        func inquiry(_ tag: UInt16, id: UInt16) throws -> [UInt8] {
            var header = Header()
            header.id = id
            return try Message(
                header: header, question: [Question(name: child, type: .key)], edns: EDNS(options: [KeyStateOption(keyID: tag, state: .inquiry).option()])
            ).wireFormat()
        }
        seeds.write("inquiry-signed-handle", try trusted.sign(inquiry(FuzzKeys.childKey.keyTag, id: id(22, handle: true)), now: now))
        seeds.write("inquiry-stranger-handle", try stranger.sign(inquiry(FuzzKeys.strangerKey.keyTag, id: id(23, handle: true)), now: now))
        seeds.write("inquiry-unsigned", try inquiry(FuzzKeys.childKey.keyTag, id: id(24, handle: true)))
        seeds.write("inquiry-udp", try trusted.sign(inquiry(FuzzKeys.childKey.keyTag, id: id(25, udp: true, handle: true)), now: now))
        seeds.write("inquiry-harness-signs", try inquiry(FuzzKeys.childKey.keyTag, id: id(26, handle: true, harnessSigns: trusted)))

        // Not for the receiver: a plain query, a NOTIFY, a bare header.
        var query = Message(question: [Question(name: child, type: .ns)])
        query.id = id(27, handle: true)
        seeds.write("query", try query.wireFormat())
        seeds.write("notify", try notify(zone: child, id: id(28, handle: true), edns: true))
        seeds.write("header-only", [0x01, 0xd2, 0x28, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// A NOTIFY as BIND sends it (RFC 1996 §3.7): AA set, the zone's SOA question, and its SOA in
    /// the answer section.
    static func notify(zone: DomainName, type: RRType = .soa, id: UInt16, edns: Bool) throws -> [UInt8] {
        var message = Message()
        message.id = id
        message.opcode = .notify
        message.header.aa = true
        message.question = [Question(name: zone, type: type)]
        message.answer = [try Record("\(zone) 3600 IN SOA ns1.\(zone) hostmaster.\(zone) 2026112901 7200 3600 1209600 3600")]
        if edns { message.edns = EDNS() }
        return try message.wireFormat()
    }

    static func childSeeds(_ seeds: inout Seeds) throws {
        // The receiver's own replies to the child's two requests (signed by its key).
        let harness = ReceiverHarness()
        for (name, request) in [("update", ChildRequests.update), ("inquiry", ChildRequests.inquiry)] {
            guard let reply = harness.handle(request) else { fatalError("no reply to the \(name) request") }
            seeds.write("reply-\(name)-receiver", reply)
        }
        // Replies made here: with EDE and KeyState, signed by the receiver and unsigned, and one
        // signed by the wrong key.
        let receiver = try SIG0Signer(keyFile: FuzzKeys.receiver)
        let wrong = try SIG0Signer(keyFile: FuzzKeys.strangerKey)
        let request = try Message(wire: ChildRequests.update)
        let cases: [(String, RCode, ExtendedDNSError?, KeyStateOption?)] = [
            ("refused-ede", .refused, ExtendedDNSError(infoCode: 18, extraText: "policy: glue-out-of-bailiwick"), nil),
            ("badkey-keystate", .badKey, ExtendedDNSError(infoCode: 18, extraText: "no trusted key"), KeyStateOption(keyID: 34514, state: .unknown)),
            (
                "noerror-keystate", .noError, nil,
                KeyStateOption(keyID: FuzzKeys.childKey.keyTag, state: .bootstrapAutoOngoing, extraText: "round 1 of 3")
            ),
            ("servfail-ede", .servFail, ExtendedDNSError(infoCode: 23, extraText: "backend: connection refused"), nil),
        ]
        for (name, rcode, error, keyState) in cases {
            var response = request.makeResponse(rcode: rcode)
            response.edns = EDNS(options: (error.map { [$0.option] } ?? []) + (keyState.map { [$0.option()] } ?? []))
            let bytes = try response.wireFormat()
            seeds.write("reply-\(name)-unsigned", bytes)
            seeds.write("reply-\(name)-signed", try receiver.sign(bytes, inception: now - 300, expiration: now + 300, request: ChildRequests.update))
        }
        let plain = try request.makeResponse(rcode: .noError).wireFormat()
        seeds.write("reply-noerror-wrong-key", try wrong.sign(plain, inception: now - 300, expiration: now + 300, request: ChildRequests.update))
        // NOTIFYs: from the primary (odd ID) and not, with and without OPT, for another type and zone.
        seeds.write("notify-primary", try notify(zone: child, id: 0x1001, edns: false))
        seeds.write("notify-primary-edns", try notify(zone: child, id: 0x1003, edns: true))
        seeds.write("notify-stranger", try notify(zone: child, id: 0x1004, edns: true))
        seeds.write("notify-v6", try notify(zone: try DomainName("v6.parent."), id: 0x1005, edns: true))
        seeds.write("notify-cds", try notify(zone: child, type: .cds, id: 0x1007, edns: true))
        seeds.write("notify-unknown-zone", try notify(zone: try DomainName("elsewhere.example."), id: 0x1009, edns: false))
    }
}

/// One corpus directory, emptied of the seeds this tool wrote before.
struct Seeds {
    let directory: URL
    var count = 0

    init(directory: URL) {
        self.directory = directory
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    mutating func write(_ name: String, _ bytes: [UInt8]) {
        let url = directory.appendingPathComponent(name + ".bin")
        do {
            try Data(bytes).write(to: url)
        } catch {
            fatalError("cannot write \(url.path): \(error)")
        }
        count += 1
    }
}
