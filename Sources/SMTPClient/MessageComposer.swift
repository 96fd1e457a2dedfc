import Glibc
import LinuxSystem

/// Builds a message the way swaks does: Date, To, From, Subject, Message-Id, X-Mailer, a blank
/// line, the body. Pure: the date and the id are inputs.
public enum MessageComposer {
    public static func compose(
        from: String, to: [String], subject: String, body: String, date: String,
        messageID: String
    ) -> String {
        var lines = [
            "Date: \(date)",
            "To: \(to.joined(separator: ", "))",
            "From: \(from)",
            "Subject: \(subject)",
            "Message-Id: <\(messageID)>",
            "X-Mailer: mlab send (MailLab)",
            "",
        ]
        // "\r\n" is one Character in Swift: split on both forms.
        var bodyLines = body.split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }
        ).map(String.init)
        if bodyLines.last == "" { bodyLines.removeLast() }
        lines += bodyLines
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 5322 date of `time` in local time: `Sun, 29 Nov 2026 05:20:00 +0000`.
    public static func date(_ time: time_t = time_t(Clock.unixSeconds())) -> String {
        format(time, "%a, %d %b %Y %H:%M:%S %z")
    }

    /// A swaks-style id: `20261129052000.012345@host` (time, pid, host).
    public static func messageID(host: String, time: time_t = time_t(Clock.unixSeconds())) -> String
    {
        let pid = String(getpid())
        return format(time, "%Y%m%d%H%M%S") + "."
            + String(repeating: "0", count: max(0, 6 - pid.count)) + pid + "@" + host
    }

    /// gethostname(2), "localhost" if it fails.
    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(
            decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func format(_ time: time_t, _ pattern: String) -> String {
        var seconds = time
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, pattern, &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
