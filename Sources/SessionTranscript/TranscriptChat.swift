/// Turns a transcript into a chat script (docs/CLIENT.md) that replays the client's side and
/// checks the server's replies: `mlab chat --from-transcript FILE`.
///
/// The client's bytes are sent exactly: a line ending in CRLF whose text is printable as
/// `send TEXT`, anything else (a bare LF, control bytes, a partial line) as `send-raw "…"`.
/// Each server reply becomes `expect CODE [ENHANCED] PATTERN`, the pattern being the text of
/// its last line with each word that holds a digit (queue ids, dates, addresses, sizes)
/// matched by `*`, so a fresh server passes while a different answer does not. A close by
/// the server or a reset is `expect close`; a close by the client is `close` at the end (the
/// server may still answer what came before the client's FIN, and a chat's `close` ends the
/// whole connection).
public enum TranscriptChat {
    /// The chat script; `name` goes into its first comment line.
    public static func script(from transcript: SessionTranscript, name: String)
        throws(TranscriptChatError) -> String
    {
        var lines: [String] = ["# replay of transcript \(name)"]
        if let session = transcript.value(of: "session") { lines.append("# session \(session)") }
        lines.append(connectLine(transcript.value(of: "listener")))
        var client: [UInt8] = []
        var server: [UInt8] = []
        var replyLines: [[UInt8]] = []
        var lastClientTime: UInt64 = 0
        var timeout = 10.0
        var clientClosed = false
        var serverClosed = false

        func flushClient() {
            var start = 0
            while start < client.count {
                var end = start
                while end < client.count && client[end] != 0x0A { end += 1 }
                if end < client.count { end += 1 }
                lines.append(sendLine(client[start..<end]))
                start = end
            }
            client = []
        }

        func takeReplies(at microseconds: UInt64, record: TranscriptRecord)
            throws(TranscriptChatError)
        {
            while let lf = server.firstIndex(of: 0x0A) {
                var line = Array(server[..<lf])
                server.removeSubrange(...lf)
                if line.last == 0x0D { line.removeLast() }
                guard line.count >= 3, line.prefix(3).allSatisfy(ASCIIDigit.isDigit),
                    line.count == 3 || line[3] == 0x20 || line[3] == 0x2D
                else {
                    throw TranscriptChatError(
                        line: record.line,
                        message: "the server sent a line that is not an SMTP reply: "
                            + String(decoding: line.prefix(80), as: UTF8.self))
                }
                replyLines.append(line)
                if line.count == 3 || line[3] == 0x20 {
                    // A reply that was slow in the transcript gets room to be slow again.
                    let waited = Double(microseconds &- lastClientTime) / 1_000_000
                    if waited * 2 + 5 > timeout {
                        timeout = (waited * 2 + 5).rounded(.up)
                        lines.append("timeout \(Int(timeout))")
                    }
                    lines.append(contentsOf: replyLines.dropLast().map { "# S: " + text($0) })
                    lines.append(expectLine(replyLines))
                    replyLines = []
                }
            }
        }

        for record in transcript.records {
            switch record.entry {
            case .data(.client, let bytes):
                if !server.isEmpty || !replyLines.isEmpty {
                    throw TranscriptChatError(
                        line: record.line,
                        message: "the client sent bytes in the middle of a server reply")
                }
                client += bytes
                lastClientTime = record.microseconds
            case .data(.server, let bytes):
                flushClient()
                server += bytes
                try takeReplies(at: record.microseconds, record: record)
            case .tls:
                throw TranscriptChatError(
                    line: record.line,
                    message: "TLS begins here: mlab chat cannot replay a session past STARTTLS")
            case .closed(by: .client):
                flushClient()
                clientClosed = true
            case .closed(by: .server), .reset:
                flushClient()
                if !serverClosed { lines.append("expect close") }
                serverClosed = true
            case .truncated:
                flushClient()
                lines.append("# the transcript was cut at its size limit here")
                lines.append("close")
                return lines.joined(separator: "\n") + "\n"
            }
        }
        flushClient()
        if !server.isEmpty || !replyLines.isEmpty {
            lines.append("# the transcript ends inside a server reply")
        }
        if clientClosed && !serverClosed { lines.append("close") }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func connectLine(_ listener: String?) -> String {
        guard let listener, let colon = listener.lastIndex(of: ":"),
            let port = UInt16(listener[listener.index(after: colon)...])
        else { return "connect" }
        var host = listener[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, !host.contains(" ") else { return "connect" }
        return "connect \(host) \(port)"
    }

    private static func sendLine(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.count >= 2, bytes.suffix(2).elementsEqual([0x0D, 0x0A]) {
            let body = bytes.dropLast(2)
            // An empty line as `send-raw "\r\n"`: plainer than `send` with nothing after it.
            if !body.isEmpty, body.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
                return "send " + String(decoding: body, as: UTF8.self)
            }
        }
        var escaped: [UInt8] = []
        TranscriptCodec.escape(bytes, into: &escaped)
        return "send-raw \"" + String(decoding: escaped, as: UTF8.self) + "\""
    }

    private static func text(_ line: [UInt8]) -> String {
        var escaped: [UInt8] = []
        TranscriptCodec.escape(line, into: &escaped)
        return String(decoding: escaped, as: UTF8.self)
    }

    /// `expect CODE [X.Y.Z] PATTERN` for a complete reply.
    static func expectLine(_ reply: [[UInt8]]) -> String {
        let first = reply[0]
        let code = String(decoding: first.prefix(3), as: UTF8.self)
        var out = "expect \(code)"
        let firstText = first.count > 4 ? String(decoding: first[4...], as: UTF8.self) : ""
        let enhanced = enhancedCode(firstText, classDigit: code.first!)
        if let enhanced { out += " \(enhanced)" }
        let last = reply[reply.count - 1]
        var lastText = last.count > 4 ? String(decoding: last[4...], as: UTF8.self) : ""
        if let enhanced, lastText.hasPrefix(enhanced) {
            lastText = String(lastText.dropFirst(enhanced.count).drop { $0 == " " || $0 == ":" })
        }
        let pattern = pattern(for: lastText)
        // Words with digits are `*`, so the pattern never reads as an enhanced code.
        if !pattern.isEmpty { out += " " + pattern }
        return out
    }

    static func enhancedCode(_ text: String, classDigit: Character) -> String? {
        let word = text.prefix { $0 != " " && $0 != ":" }
        let parts = word.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == String(classDigit),
            parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) })
        else { return nil }
        return String(word)
    }

    /// The text as a glob: words with a digit, or outside printable ASCII, become `*`;
    /// glob characters are escaped.
    static func pattern(for text: String) -> String {
        var words: [String] = []
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if word.unicodeScalars.contains(where: {
                ("0"..."9").contains($0) || $0.value < 0x20 || $0.value >= 0x7F
            }) {
                if words.last != "*" { words.append("*") }
                continue
            }
            var escaped = ""
            for character in word {
                if "*?[]\\".contains(character) { escaped.append("\\") }
                escaped.append(character)
            }
            words.append(escaped)
        }
        var joined = words.joined(separator: " ")
        // A trailing space would be trimmed by the chat parser.
        while joined.hasSuffix(" ") { joined = String(joined.dropLast()) + "*" }
        return joined
    }
}

/// A transcript that cannot become a chat script: `LINE: message` (0 when not from a file).
public struct TranscriptChatError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "\(line): \(message)" }
}
