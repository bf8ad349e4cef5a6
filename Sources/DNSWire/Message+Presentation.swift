extension Message: CustomStringConvertible {
    /// The message printed the way `dig` prints one: header line, flags and counts, the OPT
    /// pseudo-section (with Extended DNS Errors and KeyState decoded), then each section; UPDATE
    /// messages use the RFC 2136 §2 section names.
    public var description: String { presentation(keyStateCode: KeyStateOption.defaultCode) }

    public func presentation(keyStateCode: UInt16) -> String {
        let isUpdate = opcode == .update
        let names = isUpdate ? ["ZONE", "PREREQ", "UPDATE", "ADDITIONAL"] : ["QUERY", "ANSWER", "AUTHORITY", "ADDITIONAL"]
        let sectionNames = isUpdate ? ["ZONE", "PREREQUISITE", "UPDATE", "ADDITIONAL"] : ["QUESTION", "ANSWER", "AUTHORITY", "ADDITIONAL"]
        var flags: [String] = []
        if header.qr { flags.append("qr") }
        if header.aa { flags.append("aa") }
        if header.tc { flags.append("tc") }
        if header.rd { flags.append("rd") }
        if header.ra { flags.append("ra") }
        if header.ad { flags.append("ad") }
        if header.cd { flags.append("cd") }
        let counts = [question.count, answer.count, authority.count, additional.count + (edns == nil ? 0 : 1)]
        var lines = [
            ";; ->>HEADER<<- opcode: \(opcode), status: \(rcode), id: \(header.id)",
            ";; flags: \(flags.joined(separator: " ")); " + zip(names, counts).map { "\($0): \($1)" }.joined(separator: ", "),
        ]
        if let edns {
            lines.append("")
            lines.append(";; OPT PSEUDOSECTION:")
            lines.append("; EDNS: version: \(edns.version), flags:\(edns.dnssecOK ? " do" : ""); udp: \(edns.udpPayloadSize)")
            for option in edns.options {
                if let ede = try? ExtendedDNSError(option: option) {
                    lines.append("; EDE: \(ede)")
                } else if let keyState = try? KeyStateOption(option: option, code: keyStateCode) {
                    lines.append("; KEYSTATE: \(keyState)")
                } else {
                    lines.append("; OPTION \(option.code): \(option.data.hexString)")
                }
            }
        }
        let sections = [question.map(\.description), answer.map(\.description), authority.map(\.description), additional.map(\.description)]
        for (name, entries) in zip(sectionNames, sections) where !entries.isEmpty {
            lines.append("")
            lines.append(";; \(name) SECTION:")
            lines.append(contentsOf: entries)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
