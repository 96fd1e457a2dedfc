// hostile-input.md §3.1 probes as data. Each probe sends in ONE write: headers,
// "line before fake end", the bad ending, a complete smuggled transaction and the real
// <CRLF>.<CRLF>. The session is strict (its first line ended in CRLF): exactly one message,
// the smuggled MAIL FROM never becomes a transaction.

struct SmugglingProbe: Sendable, CustomStringConvertible {
    let name: String
    let ending: String
    var description: String { name }
}

enum SmugglingProbes {
    static let endings: [SmugglingProbe] = [
        .init(name: "LF . LF", ending: "\n.\n"),
        .init(name: "LF . CRLF", ending: "\n.\r\n"),
        .init(name: "CRLF . LF", ending: "\r\n.\n"),
        .init(name: "CR . CR", ending: "\r.\r"),
        .init(name: "CR . LF", ending: "\r.\n"),
        .init(name: "LF . CR", ending: "\n.\r"),
        .init(name: "CR . CRLF", ending: "\r.\r\n"),
        .init(name: "CRLF . CR", ending: "\r\n.\r"),
        .init(name: "CRLF . CR CR LF", ending: "\r\n.\r\r\n"),
        .init(name: "NUL before dot", ending: "\r\n\0.\r\n"),
    ]

    static let smuggled =
        "MAIL FROM:<smuggled@ausgebuefft>\r\nRCPT TO:<osdrefuser@localhost>\r\nDATA\r\n"
        + "Subject: smuggled\r\n\r\nsmuggled body\r\n"

    static func probe(_ ending: String) -> String {
        "EHLO defaultNS\r\nMAIL FROM:<abgelaescht@ausgebuefft>\r\nRCPT TO:<osdrefuser@localhost>\r\n"
            + "DATA\r\nSubject: probe\r\n\r\nline before fake end" + ending + smuggled
            + "\r\n.\r\n"
    }
}
