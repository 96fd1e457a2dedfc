/// Number formats of smtpd.conf values.
enum ConfigUnits {
    /// `scan_scaled(3)`: `35M` = 35 × 1024², units B K M G T P E in either case, a decimal
    /// fraction allowed with a unit (`1.5K` = 1536). Nil if malformed, negative or too big.
    static func scaled(_ text: String) -> Int? {
        var digits = Substring(text)
        var scale = 1
        if let last = digits.last, !last.isASCII || !last.isNumber {
            let units: [Character] = ["B", "K", "M", "G", "T", "P", "E"]
            guard let index = units.firstIndex(of: Character(last.uppercased())) else {
                return nil
            }
            for _ in 0..<index { scale *= 1024 }
            digits = digits.dropLast()
        }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let wholeText = parts.first, !wholeText.isEmpty,
            wholeText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let whole = Int(wholeText)
        else { return nil }
        let (product, overflow) = whole.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        guard parts.count == 2 else { return product }
        let fraction = parts[1]
        guard scale > 1, !fraction.isEmpty, fraction.count <= 9,
            fraction.allSatisfy({ $0.isASCII && $0.isNumber }), let f = Int(fraction)
        else { return nil }
        var divisor = 1
        for _ in 0..<fraction.count { divisor *= 10 }
        let (numerator, overflowFraction) = f.multipliedReportingOverflow(by: scale)
        guard !overflowFraction else { return nil }
        let (sum, overflowSum) = product.addingReportingOverflow(numerator / divisor)
        return overflowSum ? nil : sum
    }

    /// `delaytonum`: a number 1…INT_MAX/unit followed by one of `s m h d`; seconds.
    static func delay(_ text: String) -> Int? {
        guard text.count >= 2, let unit = text.last else { return nil }
        let factor: Int
        switch unit {
        case "s": factor = 1
        case "m": factor = 60
        case "h": factor = 3_600
        case "d": factor = 86_400
        default: return nil
        }
        let number = text.dropLast()
        guard number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(number),
            value >= 1, value <= Int(Int32.max) / factor
        else { return nil }
        return value * factor
    }

    /// MailLab fault delays: a number 0…86400000 followed by `ms`, `s` or `m`; nanoseconds.
    static func duration(_ text: String) -> UInt64? {
        let units: [(String, UInt64)] = [
            ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000),
        ]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = UInt64(number), value <= 86_400_000_000_000 / factor
            else { return nil }
            return value * factor
        }
        return nil
    }
}
