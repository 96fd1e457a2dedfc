/// The transcript file format, version 1 (docs/TRANSCRIPTS.md):
///
/// ```
/// # MailLab session transcript 1
/// @ session 3f2a0c1d9e8b7a65
/// @ peer 127.0.0.1:41000
/// 0.000000 S "220 vm ESMTP MailLab\r\n"
/// 0.000812 C "EHLO client\r\n"
/// 0.002133 * tls TLSv1.3 TLS_AES_256_GCM_SHA384 256
/// 0.104000 * close client
/// ```
///
/// Every byte is visible: CR, LF, tab, quote and backslash as `\r \n \t \" \\`, other bytes
/// below 0x20 and from 0x7F as `\xNN` (the escapes of a chat script's `send-raw`). A chunk is
/// written as one line per line of its own (split after each LF, same time): joining a side's
/// strings gives its bytes exactly.
public enum TranscriptCodec {
    /// The first line of every transcript.
    public static let formatLine = "# MailLab session transcript 1"

    /// The format line and the metadata lines.
    public static func header(_ metadata: [SessionTranscript.Metadata]) -> [UInt8] {
        var out = Array((formatLine + "\n").utf8)
        for item in metadata {
            out += Array("@ \(item.key) ".utf8)
            out += sanitized(item.value)
            out.append(0x0A)
        }
        return out
    }

    /// One record as one or more lines.
    public static func encode(_ record: TranscriptRecord) -> [UInt8] {
        let time = Array(timeText(record.microseconds).utf8)
        switch record.entry {
        case .data(let side, let bytes):
            var out: [UInt8] = []
            var start = 0
            repeat {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                if end < bytes.count { end += 1 }  // the LF belongs to its line
                out += time
                out += [0x20, side.letter, 0x20, 0x22]
                escape(bytes[start..<end], into: &out)
                out += [0x22, 0x0A]
                start = end
            } while start < bytes.count
            return out
        case .tls(let text): return time + Array(" * tls ".utf8) + sanitized(text) + [0x0A]
        case .closed(let side):
            return time + Array(" * close \(side == .client ? "client" : "server")\n".utf8)
        case .reset: return time + Array(" * reset\n".utf8)
        case .truncated: return time + Array(" * truncated\n".utf8)
        }
    }

    /// A whole transcript (header and records).
    public static func encode(_ transcript: SessionTranscript) -> [UInt8] {
        var out = header(transcript.metadata)
        for record in transcript.records { out += encode(record) }
        return out
    }

    /// Reads a transcript back. Consecutive data lines of one side with the same time are
    /// joined into one record (they were one chunk). Errors name the line.
    public static func parse(_ bytes: [UInt8]) throws(TranscriptParseError) -> SessionTranscript {
        var transcript = SessionTranscript()
        var lineNumber = 0
        var index = 0
        var sawFormat = false
        while index < bytes.count {
            var end = index
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            guard end < bytes.count else {
                throw TranscriptParseError(line: lineNumber + 1, message: "last line has no LF")
            }
            lineNumber += 1
            var line = bytes[index..<end]
            index = end + 1
            if line.last == 0x0D { line = line.dropLast() }
            if !sawFormat {
                guard String(decoding: line, as: UTF8.self) == formatLine else {
                    throw TranscriptParseError(
                        line: lineNumber, message: "not a transcript: expected \"\(formatLine)\"")
                }
                sawFormat = true
                continue
            }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            if line.first == UInt8(ascii: "@") {
                guard transcript.records.isEmpty else {
                    throw TranscriptParseError(
                        line: lineNumber, message: "metadata (@) after the first record")
                }
                let text = String(decoding: line.dropFirst(), as: UTF8.self)
                let trimmed = text.drop { $0 == " " }
                let key = trimmed.prefix { $0 != " " }
                guard !key.isEmpty else {
                    throw TranscriptParseError(line: lineNumber, message: "metadata without a key")
                }
                transcript.metadata.append(
                    .init(key: String(key), value: String(trimmed.dropFirst(key.count).dropFirst()))
                )
                continue
            }
            let record = try parseRecord(line, number: lineNumber)
            if case .data(let side, let more) = record.entry,
                let last = transcript.records.last,
                case .data(side, let earlier) = last.entry,
                last.microseconds == record.microseconds, earlier.last == 0x0A
            {
                transcript.records[transcript.records.count - 1].entry = .data(side, earlier + more)
            } else {
                transcript.records.append(record)
            }
        }
        guard sawFormat else {
            throw TranscriptParseError(line: 1, message: "empty file: not a transcript")
        }
        return transcript
    }

    private static func parseRecord(_ line: ArraySlice<UInt8>, number: Int)
        throws(TranscriptParseError) -> TranscriptRecord
    {
        func fail(_ message: String) -> TranscriptParseError {
            TranscriptParseError(line: number, message: message)
        }
        guard let space = line.firstIndex(of: 0x20),
            let microseconds = parseTime(line[line.startIndex..<space])
        else { throw fail("expected SECONDS.MICROSECONDS at the start of a record") }
        let rest = line[(space + 1)...]
        guard rest.count >= 2, rest[rest.startIndex + 1] == 0x20 else {
            throw fail("expected C, S or * after the time")
        }
        let payload = rest.dropFirst(2)
        switch rest.first {
        case UInt8(ascii: "C"), UInt8(ascii: "S"):
            let side: TranscriptSide = rest.first == UInt8(ascii: "C") ? .client : .server
            switch unescape(payload) {
            case .success(let bytes):
                return TranscriptRecord(
                    microseconds: microseconds, entry: .data(side, bytes), line: number)
            case .failure(let message): throw fail(message.text)
            }
        case UInt8(ascii: "*"):
            let text = String(decoding: payload, as: UTF8.self)
            let entry: TranscriptEntry
            switch text {
            case "close client": entry = .closed(by: .client)
            case "close server": entry = .closed(by: .server)
            case "reset": entry = .reset
            case "truncated": entry = .truncated
            default:
                guard text.hasPrefix("tls ") else {
                    throw fail(
                        "unknown note \"\(text)\" (tls, close client|server, reset, truncated)")
                }
                entry = .tls(String(text.dropFirst(4)))
            }
            return TranscriptRecord(microseconds: microseconds, entry: entry, line: number)
        default:
            throw fail("expected C, S or * after the time")
        }
    }

    static func timeText(_ microseconds: UInt64) -> String {
        let fraction = String(microseconds % 1_000_000)
        return "\(microseconds / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count)
            + fraction
    }

    static func parseTime(_ text: ArraySlice<UInt8>) -> UInt64? {
        guard let dot = text.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        let whole = text[text.startIndex..<dot]
        let fraction = text[(dot + 1)...]
        guard !whole.isEmpty, whole.count <= 12, fraction.count == 6,
            whole.allSatisfy(ASCIIDigit.isDigit), fraction.allSatisfy(ASCIIDigit.isDigit),
            let seconds = UInt64(String(decoding: whole, as: UTF8.self)),
            let micros = UInt64(String(decoding: fraction, as: UTF8.self))
        else { return nil }
        return seconds * 1_000_000 + micros
    }

    /// Appends `bytes` escaped (without the quotes).
    public static func escape(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x22, 0x5C: out += [0x5C, byte]
            case 0x20..<0x7F: out.append(byte)
            default:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
    }

    struct EscapeError: Error { var text: String }

    /// A `"…"` string back to its bytes.
    static func unescape(_ text: ArraySlice<UInt8>) -> Result<[UInt8], EscapeError> {
        guard text.count >= 2, text.first == 0x22, text.last == 0x22 else {
            return .failure(EscapeError(text: "expected a \"quoted string\" after the side"))
        }
        var out: [UInt8] = []
        var index = text.startIndex + 1
        let end = text.endIndex - 1
        while index < end {
            let byte = text[index]
            index += 1
            if byte == 0x22 {
                return .failure(EscapeError(text: "unescaped quote inside the string"))
            }
            guard byte == 0x5C else {
                out.append(byte)
                continue
            }
            guard index < end else { return .failure(EscapeError(text: "backslash at the end")) }
            let escape = text[index]
            index += 1
            switch escape {
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case 0x22, 0x5C: out.append(escape)
            case UInt8(ascii: "x"):
                guard index + 1 < end, let high = hexValue(text[index]),
                    let low = hexValue(text[index + 1])
                else { return .failure(EscapeError(text: "\\x needs two hex digits")) }
                out.append(high << 4 | low)
                index += 2
            default:
                return .failure(
                    EscapeError(text: "unknown escape \\\(Character(Unicode.Scalar(escape)))"))
            }
        }
        return .success(out)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Metadata and notes are one line of text: control bytes become `?`.
    private static func sanitized(_ text: String) -> [UInt8] {
        text.utf8.map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }
    }
}

enum ASCIIDigit {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}

/// A transcript that cannot be read: `LINE: message`.
public struct TranscriptParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { "\(line): \(message)" }
}
