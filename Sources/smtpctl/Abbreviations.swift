/// OpenSMTPD's smtpctl takes every command word abbreviated to a unique prefix (`sh q` is
/// `show queue`, `sch a` is `schedule all`); ArgumentParser wants whole words, so the words
/// are completed first. An ambiguous or unknown word is left as it is, for ArgumentParser to
/// refuse.
enum Abbreviations {
    /// Each verb and the words its second argument may be.
    static let verbs: [(verb: String, words: [String])] = [
        ("show", ["queue", "stats", "faults"]), ("schedule", ["all"]), ("remove", ["all"]),
        ("pause", ["mta"]), ("resume", ["mta"]), ("log", ["verbose", "brief"]),
        ("trace", ["smtp"]), ("untrace", ["smtp"]),
        ("load", ["faults"]), ("clear", ["faults"]), ("encrypt", []),
    ]

    static func expand(_ arguments: [String]) -> [String] {
        guard let first = arguments.first, !first.hasPrefix("-") else { return arguments }
        guard let verb = unique(first, among: verbs.map(\.verb)) else { return arguments }
        var expanded = [verb] + arguments.dropFirst()
        let words = verbs.first { $0.verb == verb }?.words ?? []
        if expanded.count > 1, !expanded[1].hasPrefix("-"),
            let word = unique(expanded[1], among: words)
        {
            expanded[1] = word
        }
        return expanded
    }

    /// The one candidate `prefix` begins; nil if none or several.
    static func unique(_ prefix: String, among candidates: [String]) -> String? {
        if candidates.contains(prefix) { return prefix }
        let matches = candidates.filter { $0.hasPrefix(prefix) }
        return matches.count == 1 ? matches[0] : nil
    }
}
