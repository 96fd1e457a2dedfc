/// RFC 5322 date text in UTC without Foundation or locale, as OpenSMTPD's `time_to_text`:
/// `Sun, 29 Nov 2026 04:01:51 +0000 (UTC)` (day of month not zero-padded).
public enum DateText {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    public static func format(unixSeconds: Int64) -> String {
        let dayNumber = floorDiv(unixSeconds, 86_400)
        let secondOfDay = unixSeconds - dayNumber * 86_400
        let (year, month, day) = civilDate(daysSinceEpoch: dayNumber)
        let weekday = Int(((dayNumber % 7) + 11) % 7)  // 1970-01-01 was a Thursday
        // Bytes, not interpolation: this runs for every message (Received and Date).
        var text: [UInt8] = []
        text.reserveCapacity(40)
        text += days[weekday].utf8
        text += ", ".utf8
        appendDecimal(day, to: &text)
        text.append(0x20)
        text += months[month - 1].utf8
        text.append(0x20)
        appendDecimal(year, to: &text)
        text.append(0x20)
        appendTwo(secondOfDay / 3600, to: &text)
        text.append(0x3A)
        appendTwo((secondOfDay % 3600) / 60, to: &text)
        text.append(0x3A)
        appendTwo(secondOfDay % 60, to: &text)
        text += " +0000 (UTC)".utf8
        return String(decoding: text, as: UTF8.self)
    }

    private static func appendTwo(_ value: Int64, to text: inout [UInt8]) {
        text.append(0x30 + UInt8(value / 10))
        text.append(0x30 + UInt8(value % 10))
    }

    private static func appendDecimal(_ value: Int64, to text: inout [UInt8]) {
        if value < 0 {
            text.append(0x2D)
            appendDecimal(-value, to: &text)
            return
        }
        if value >= 10 { appendDecimal(value / 10, to: &text) }
        text.append(0x30 + UInt8(value % 10))
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// Howard Hinnant's `civil_from_days`.
    private static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, Int(month), day)
    }
}
