/// Unix seconds as calendar text in UTC (proleptic Gregorian calendar, days-from-civil
/// arithmetic; no clock, no locale): `2027-01-15 08:00:00 UTC` for status lines and the texts
/// the child reads, `2027-01-15T08:00:00Z` (RFC 3339 §5.6) for machine-read documents.
public enum UTCTime {
    public static func text(_ seconds: Int64) -> String {
        let f = fields(seconds)
        return "\(f.year)-\(two(f.month))-\(two(f.day)) \(two(f.hour)):\(two(f.minute)):\(two(f.second)) UTC"
    }

    /// RFC 3339 §5.6 `date-time` in UTC with the `Z` offset, whole seconds.
    public static func rfc3339(_ seconds: Int64) -> String {
        let f = fields(seconds)
        return "\(f.year)-\(two(f.month))-\(two(f.day))T\(two(f.hour)):\(two(f.minute)):\(two(f.second))Z"
    }

    static func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

    static func fields(_ seconds: Int64) -> (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = seconds - days * 86400
        // Days since 1970-01-01 to year/month/day (eras of 400 years, March-based years).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, rest / 3600, rest % 3600 / 60, rest % 60)
    }
}
