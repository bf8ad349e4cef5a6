import CLDNS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The bridge to libldns. Everything ldns allocates is freed before these functions return; no
/// raw ldns pointer leaves this file.
enum LDNS {
    static func error(_ status: ldns_status, _ context: String) -> DNSWireError {
        let text = ldns_get_errorstr_by_id(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
        return DNSWireError(.ldns, "\(context): \(text)")
    }

    /// Takes a `malloc`ed C string from ldns and frees it.
    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// An ldns RR built from our record's wire form; the caller frees it.
    static func makeRR(_ wire: [UInt8], question: Bool) throws -> UnsafeMutablePointer<ldns_rr> {
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        var position = 0
        let status = wire.withUnsafeBufferPointer {
            ldns_wire2rr(&rr, $0.baseAddress, $0.count, &position, question ? LDNS_SECTION_QUESTION : LDNS_SECTION_ANSWER)
        }
        guard status == LDNS_STATUS_OK, let rr else { throw error(status, "record") }
        guard position == wire.count else {
            ldns_rr_free(rr)
            throw DNSWireError(.badRdata, "ldns read \(position) of \(wire.count) octets of the record")
        }
        return rr
    }

    /// The uncompressed wire form ldns gives for `rr` (question form when `question`).
    static func wire(of rr: UnsafePointer<ldns_rr>, question: Bool) throws -> [UInt8] {
        var dest: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status = ldns_rr2wire(&dest, rr, Int32(question ? LDNS_SECTION_QUESTION.rawValue : LDNS_SECTION_ANSWER.rawValue), &size)
        guard status == LDNS_STATUS_OK, let dest else { throw error(status, "encoding a record") }
        defer { free(dest) }
        return Array(UnsafeBufferPointer(start: dest, count: size))
    }

    static func record(from rr: UnsafePointer<ldns_rr>) throws -> Record {
        var reader = WireReader(try wire(of: rr, question: false))
        return try Record.read(&reader)
    }

    static func question(from rr: UnsafePointer<ldns_rr>) throws -> Question {
        var reader = WireReader(try wire(of: rr, question: true))
        return Question(name: try reader.name(), type: RRType(try reader.u16()), qclass: RRClass(try reader.u16()))
    }

    /// ldns's presentation of one record, without the trailing newline.
    static func presentation(of record: Record) throws -> String {
        let rr = try makeRR(record.wire, question: false)
        defer { ldns_rr_free(rr) }
        // Flags 0: no comments (key ids, sizes) after the RDATA.
        var format = ldns_output_format(flags: 0, data: nil)
        guard var text = string(ldns_rr2str_fmt(&format, rr)) else { throw DNSWireError(.ldns, "ldns could not print \(record.type)") }
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }

    /// A record from presentation text that ldns parses.
    static func parse(_ text: String, origin: DomainName) throws -> Record {
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        let originRdf = origin.wire.withUnsafeBufferPointer { ldns_dname_new_frm_data(UInt16($0.count), $0.baseAddress) }
        defer { ldns_rdf_deep_free(originRdf) }
        let status = ldns_rr_new_frm_str(&rr, text, 3600, originRdf, nil)
        guard status == LDNS_STATUS_OK, let rr else { throw error(status, "\"\(text)\"") }
        defer { ldns_rr_free(rr) }
        return try record(from: rr)
    }

    /// Decodes a message with `ldns_wire2pkt` and copies it into our value types.
    static func decode(_ bytes: [UInt8]) throws -> (
        header: Header, question: [Question], sections: [[Record]], tsig: Record?,
        edns: (udp: UInt16, extendedRCode: UInt8, version: UInt8, z: UInt16, options: [UInt8])
    ) {
        var packet: UnsafeMutablePointer<ldns_pkt>? = nil
        let status = bytes.withUnsafeBufferPointer { ldns_wire2pkt(&packet, $0.baseAddress, $0.count) }
        guard status == LDNS_STATUS_OK, let packet else { throw error(status, "message") }
        defer { ldns_pkt_free(packet) }

        var header = Header()
        header.id = ldns_pkt_id(packet)
        header.qr = ldns_pkt_qr(packet) != 0
        header.opcode = Opcode(UInt8(truncatingIfNeeded: ldns_pkt_get_opcode(packet).rawValue))
        header.aa = ldns_pkt_aa(packet) != 0
        header.tc = ldns_pkt_tc(packet) != 0
        header.rd = ldns_pkt_rd(packet) != 0
        header.ra = ldns_pkt_ra(packet) != 0
        header.ad = ldns_pkt_ad(packet) != 0
        header.cd = ldns_pkt_cd(packet) != 0
        header.rcodeLow = UInt8(truncatingIfNeeded: ldns_pkt_get_rcode(packet).rawValue) & 0x0F

        var question: [Question] = []
        if let list = ldns_pkt_question(packet) {
            for i in 0..<ldns_rr_list_rr_count(list) {
                guard let rr = ldns_rr_list_rr(list, i) else { continue }
                question.append(try Self.question(from: rr))
            }
        }
        var sections: [[Record]] = []
        for list in [ldns_pkt_answer(packet), ldns_pkt_authority(packet), ldns_pkt_additional(packet)] {
            var records: [Record] = []
            if let list {
                for i in 0..<ldns_rr_list_rr_count(list) {
                    guard let rr = ldns_rr_list_rr(list, i) else { continue }
                    records.append(try record(from: rr))
                }
            }
            sections.append(records)
        }
        let tsig = try ldns_pkt_tsig(packet).map { try record(from: $0) }
        var options: [UInt8] = []
        if let data = ldns_pkt_edns_data(packet) {
            options = Array(UnsafeBufferPointer(start: ldns_rdf_data(data), count: ldns_rdf_size(data)))
        }
        let edns = (ldns_pkt_edns_udp_size(packet), ldns_pkt_edns_extended_rcode(packet), ldns_pkt_edns_version(packet), ldns_pkt_edns_z(packet), options)
        return (header, question, sections, tsig, edns)
    }

    /// Encodes header, question and three record sections with `ldns_pkt2wire` (ldns compresses
    /// names). OPT and trailing SIG/TSIG records are added by the caller.
    static func encode(header: Header, question: [Question], sections: [[Record]]) throws -> [UInt8] {
        guard let packet = ldns_pkt_new() else { throw DNSWireError(.ldns, "out of memory") }
        defer { ldns_pkt_free(packet) }
        ldns_pkt_set_id(packet, header.id)
        ldns_pkt_set_qr(packet, header.qr ? 1 : 0)
        ldns_pkt_set_opcode(packet, ldns_pkt_opcode(UInt32(header.opcode.rawValue)))
        ldns_pkt_set_aa(packet, header.aa ? 1 : 0)
        ldns_pkt_set_tc(packet, header.tc ? 1 : 0)
        ldns_pkt_set_rd(packet, header.rd ? 1 : 0)
        ldns_pkt_set_ra(packet, header.ra ? 1 : 0)
        ldns_pkt_set_ad(packet, header.ad ? 1 : 0)
        ldns_pkt_set_cd(packet, header.cd ? 1 : 0)
        ldns_pkt_set_rcode(packet, header.rcodeLow)
        for q in question {
            let rr = try makeRR(q.wire, question: true)
            guard ldns_pkt_push_rr(packet, LDNS_SECTION_QUESTION, rr) != 0 else {
                ldns_rr_free(rr)
                throw DNSWireError(.encoding, "cannot add question")
            }
        }
        let ldnsSections = [LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL]
        for (section, records) in zip(ldnsSections, sections) {
            for record in records {
                let rr = try makeRR(record.wire, question: false)
                guard ldns_pkt_push_rr(packet, section, rr) != 0 else {
                    ldns_rr_free(rr)
                    throw DNSWireError(.encoding, "cannot add record")
                }
            }
        }
        var dest: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status = ldns_pkt2wire(&dest, packet, &size)
        guard status == LDNS_STATUS_OK, let dest else { throw error(status, "encoding the message") }
        defer { free(dest) }
        return Array(UnsafeBufferPointer(start: dest, count: size))
    }
}
