/// Why a server's reply line was refused.
public enum ReplyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Shorter than three characters, or the code is not three digits 2–5 / 0–9 / 0–9.
    case malformedLine(String)
    /// The fourth character is neither space nor `-` (and the line is longer than 3).
    case badSeparator(String)
    /// A continuation line changed the code (`250-x` then `550 y`).
    case codeChanged(expected: Int, line: String)
    /// More continuation lines than `ReplyParser.maximumLines`.
    case tooManyLines(Int)

    public var description: String {
        switch self {
        case .malformedLine(let line): "malformed reply line \(quoted(line))"
        case .badSeparator(let line):
            "reply line without space or '-' after the code: \(quoted(line))"
        case .codeChanged(let code, let line):
            "reply code changed inside a multi-line reply (was \(code)): \(quoted(line))"
        case .tooManyLines(let count): "multi-line reply longer than \(count) lines"
        }
    }
}

/// Assembles replies from lines (without their line ends). Defensive by design: every line is
/// checked for length before any character is looked at, so `250`, `2`, or an empty line never
/// lead to reading past the line (OpenSMTPD's `mta_io()` did `line + 4` on short lines:
/// CVE-2020-8794).
public struct ReplyParser: Sendable {
    /// Longest multi-line reply accepted (RFC 5321 sets no limit; EHLO lists are ~20 lines).
    public static let maximumLines = 1000

    private var code: Int?
    private var lines: [String] = []

    public init() {}

    /// True while a multi-line reply is incomplete.
    public var isPending: Bool { code != nil }

    /// Feeds one line; returns the reply when this line completes it.
    public mutating func feed(_ line: String) throws(ReplyError) -> SMTPReply? {
        let scalars = Array(line.utf8)
        guard scalars.count >= 3,
            (UInt8(ascii: "2")...UInt8(ascii: "5")).contains(scalars[0]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scalars[1]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scalars[2])
        else {
            reset()
            throw .malformedLine(line)
        }
        let lineCode = Int(scalars[0] - 48) * 100 + Int(scalars[1] - 48) * 10 + Int(scalars[2] - 48)
        let last: Bool
        if scalars.count == 3 {
            last = true  // RFC 5321 §4.2: the text is optional.
        } else if scalars[3] == UInt8(ascii: " ") {
            last = true
        } else if scalars[3] == UInt8(ascii: "-") {
            last = false
        } else {
            reset()
            throw .badSeparator(line)
        }
        if let code, code != lineCode {
            reset()
            throw .codeChanged(expected: code, line: line)
        }
        code = lineCode
        lines.append(scalars.count > 4 ? String(decoding: scalars[4...], as: UTF8.self) : "")
        if last {
            let reply = SMTPReply(code: lineCode, lines: lines)
            reset()
            return reply
        }
        if lines.count >= Self.maximumLines {
            reset()
            throw .tooManyLines(Self.maximumLines)
        }
        return nil
    }

    private mutating func reset() {
        code = nil
        lines = []
    }
}

/// A line for humans: control bytes shown as `\r`, `\n`, `\t` or `\xNN`.
public func quoted(_ line: String) -> String {
    "\"" + escapedForDisplay(Array(line.utf8)) + "\""
}

/// Control bytes and backslash escaped (so a transcript line stays one line); UTF-8 text is
/// kept, invalid sequences become U+FFFD.
public func escapedForDisplay(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    for byte in bytes {
        switch byte {
        case UInt8(ascii: "\r"): out += Array("\\r".utf8)
        case UInt8(ascii: "\n"): out += Array("\\n".utf8)
        case UInt8(ascii: "\t"): out += Array("\\t".utf8)
        case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
        case 0x00..<0x20, 0x7F:
            let hex = String(byte, radix: 16, uppercase: false)
            out += Array(("\\x" + (hex.count == 1 ? "0" + hex : hex)).utf8)
        default: out.append(byte)
        }
    }
    return String(decoding: out, as: UTF8.self)
}
