/// RFC 5322 §3.3 dates, parsed and formatted in UTC without the C library's time zone.
public enum MailDate {
    /// Seconds since the epoch for a date like `Tue, 14 Nov 2023 22:13:20 +0000`. Accepts a
    /// missing weekday or seconds, comments like `(UTC)`, two-digit years, and the obsolete
    /// zone names (GMT, EST, …; unknown names count as +0000, RFC 5322 §4.3).
    public static func parse(_ text: String) -> Int64? {
        var cleaned = ""
        var depth = 0
        for character in text {
            if character == "(" {
                depth += 1
            } else if character == ")" && depth > 0 {
                depth -= 1
            } else if depth == 0 {
                cleaned.append(character == "," ? " " : character)
            }
        }
        var tokens = cleaned.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if let first = tokens.first, first.allSatisfy(\.isLetter), month(first) == nil {
            tokens.removeFirst()
        }
        guard tokens.count >= 4, let day = Int(tokens[0]), let month = month(tokens[1]),
            var year = Int(tokens[2]), (1...31).contains(day)
        else { return nil }
        if tokens[2].count <= 2 {
            year += year < 50 ? 2000 : 1900
        } else if tokens[2].count == 3 {
            year += 1900
        }
        let clock = tokens[3].split(separator: ":").map { Int($0) }
        guard clock.count == 2 || clock.count == 3, let hour = clock[0], let minute = clock[1],
            (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        let second = clock.count == 3 ? clock[2] : 0
        guard let second, (0...60).contains(second) else { return nil }
        let offset = tokens.count > 4 ? zoneOffset(tokens[4]) : 0
        guard let offset else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return days * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
    }

    /// `2023-11-14 22:13` (UTC).
    public static func shortUTC(_ seconds: Int64) -> String {
        let (date, hour, minute, _) = split(seconds)
        return "\(date) \(two(hour)):\(two(minute))"
    }

    /// `2023-11-14T22:13:20Z` (RFC 3339, UTC).
    public static func iso8601(_ seconds: Int64) -> String {
        let (date, hour, minute, second) = split(seconds)
        return "\(date)T\(two(hour)):\(two(minute)):\(two(second))Z"
    }

    static func split(_ seconds: Int64) -> (String, Int, Int, Int) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = Int(seconds - days * 86400)
        let (year, month, day) = civilFromDays(days)
        let yearText =
            year < 1000 ? String(repeating: "0", count: 4 - "\(year)".count) + "\(year)" : "\(year)"
        return ("\(yearText)-\(two(month))-\(two(day))", rest / 3600, rest / 60 % 60, rest % 60)
    }

    static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    static func month(_ name: String) -> Int? {
        let months = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ]
        return months.firstIndex(of: name.lowercased()).map { $0 + 1 }
    }

    /// Offset east of UTC in seconds.
    static func zoneOffset(_ zone: String) -> Int? {
        if let sign = zone.first, sign == "+" || sign == "-" {
            let digits = zone.dropFirst()
            guard digits.count == 4, let value = Int(digits) else { return nil }
            let seconds = (value / 100) * 3600 + (value % 100) * 60
            return sign == "-" ? -seconds : seconds
        }
        let hours: [String: Int] = [
            "ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
            "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
        ]
        return (hours[zone.lowercased()] ?? 0) * 3600
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = Int64((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }

    static func civilFromDays(_ days: Int64) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra =
            (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}
