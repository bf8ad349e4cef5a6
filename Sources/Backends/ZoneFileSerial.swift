/// Finds and raises the SOA serial in an operator's zone file text, changing nothing else: every
/// other character, comment and blank stays as it was (RFC 1035 §5.1 master-file syntax:
/// `;` comments, quoted strings, parentheses that continue a record over lines).
public struct ZoneFileSerial: Sendable {
    public let text: String
    /// Where the serial's digits stand in ``text``.
    let range: Range<String.Index>
    public let serial: UInt32

    /// Locates the serial: the third field after the first `SOA` token (after MNAME and RNAME).
    public init(text: String) throws {
        self.text = text
        var tokens: [(Substring, Range<String.Index>)] = []
        var index = text.startIndex
        var soaAt: Int? = nil
        while index < text.endIndex {
            let c = text[index]
            if c == ";" {
                while index < text.endIndex, text[index] != "\n" { index = text.index(after: index) }
                continue
            }
            if c.isWhitespace || c == "(" || c == ")" {
                index = text.index(after: index)
                continue
            }
            let start = index
            if c == "\"" {
                index = text.index(after: index)
                while index < text.endIndex, text[index] != "\"" {
                    if text[index] == "\\" { index = text.index(after: index) }
                    if index < text.endIndex { index = text.index(after: index) }
                }
                if index < text.endIndex { index = text.index(after: index) }
            } else {
                while index < text.endIndex, !text[index].isWhitespace, !";()\"".contains(text[index]) {
                    if text[index] == "\\" { index = text.index(after: index) }
                    if index < text.endIndex { index = text.index(after: index) }
                }
            }
            tokens.append((text[start..<index], start..<index))
            if soaAt == nil, text[start..<index].uppercased() == "SOA" { soaAt = tokens.count - 1 }
            if let soaAt, tokens.count > soaAt + 3 { break }
        }
        guard let soaAt, tokens.count > soaAt + 3 else { throw BackendError("no SOA record with a serial in the zone file") }
        let (token, range) = tokens[soaAt + 3]
        guard let serial = UInt32(token) else { throw BackendError("SOA serial \"\(token)\" is not a number of 32 bits") }
        self.range = range
        self.serial = serial
    }

    /// The next serial: serial + 1 (RFC 1982 arithmetic, wrapping), or the date-based
    /// `YYYYMMDD00` of `date` when that is larger in RFC 1982 terms.
    public static func next(after serial: UInt32, year: Int, month: Int, day: Int) -> UInt32 {
        let plusOne = serial &+ 1
        let dated = UInt32(clamping: year * 1_000_000 + month * 10_000 + day * 100)
        let difference = dated &- serial
        return difference > 1 && difference < 0x8000_0000 ? dated : plusOne
    }

    /// The text with only the serial replaced.
    public func replacingSerial(with serial: UInt32) -> String {
        String(text[..<range.lowerBound]) + String(serial) + String(text[range.upperBound...])
    }
}
