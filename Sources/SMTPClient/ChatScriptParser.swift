import SMTPProtocol
/// Parses the chat script format (docs/CLIENT.md). All errors are collected.
public enum ChatScriptParser {
    public static func parse(_ text: String, name: String) throws(ChatScriptErrors) -> ChatScript {
        // "\r\n" is one Character in Swift: split on both forms.
        var lines = text.split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }
        ).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }[...]
        var errors: [ChatScriptError] = []
        var steps: [ChatStep] = []
        var group: (line: Int, steps: [ChatStep], sawExpect: Bool)?
        var number = 0

        func fail(_ message: String, at line: Int) {
            errors.append(ChatScriptError(file: name, line: line, message: message))
        }

        while let raw = lines.popFirst() {
            number += 1
            let stepLine = number
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let keyword = line.prefix { $0 != " " && $0 != "\t" }
            let argument = line.dropFirst(keyword.count).dropFirst()
            let trimmed = argument.trimmingWhitespace()
            var action: ChatAction?
            switch keyword.lowercased() {
            case "connect":
                action = parseConnect(trimmed, fail: { fail($0, at: number) })
            case "timeout", "sleep":
                guard let seconds = Double(trimmed), seconds >= 0, seconds <= 86400 else {
                    fail("\(keyword) needs seconds (0 to 86400), got \"\(trimmed)\"", at: number)
                    continue
                }
                action = keyword.lowercased() == "timeout" ? .timeout(seconds) : .sleep(seconds)
            case "send":
                action = .send(Array(argument.utf8) + [13, 10])
            case "send-raw":
                switch unescape(trimmed) {
                case .success(let bytes): action = .send(bytes)
                case .failure(let error): fail(error.message, at: number)
                }
            case "body":
                guard trimmed.hasPrefix("<<"), trimmed.count > 2,
                    !trimmed.dropFirst(2).contains(" ")
                else {
                    fail("body needs a here-document marker: body <<END", at: number)
                    continue
                }
                let marker = trimmed.dropFirst(2)
                let start = number
                var content: [Substring] = []
                var ended = false
                while let next = lines.popFirst() {
                    number += 1
                    if next == marker {
                        ended = true
                        break
                    }
                    content.append(next)
                }
                guard ended else {
                    fail("body <<\(marker) is never ended by a line \"\(marker)\"", at: start)
                    continue
                }
                action = .send(DotStuffing.encode(lines: content.map(String.init)))
            case "auth":
                // `auth plain USER PASS`: one AUTH PLAIN line with the initial response.
                // `auth login USER PASS`: AUTH LOGIN, then the user and the password each
                // after its 334. The reply to the credentials is the script's to expect.
                let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard words.count == 3, ["plain", "login"].contains(words[0].lowercased()) else {
                    fail("auth needs plain|login USER PASS, got \"\(trimmed)\"", at: number)
                    continue
                }
                let (user, password) = (String(words[1]), String(words[2]))
                if words[0].lowercased() == "plain" {
                    let response = Base64.encode(Array("\0\(user)\0\(password)".utf8))
                    action = .send(Array("AUTH PLAIN \(response)\r\n".utf8))
                } else if group != nil {
                    fail("auth login waits for its 334 replies: not inside a pipeline", at: number)
                    continue
                } else {
                    let prompt = ReplyExpectation(parsing: "334")!
                    for action in [
                        ChatAction.send(Array("AUTH LOGIN\r\n".utf8)), .expect(prompt),
                        .send(Array((Base64.encode(Array(user.utf8)) + "\r\n").utf8)),
                        .expect(prompt),
                        .send(Array((Base64.encode(Array(password.utf8)) + "\r\n").utf8)),
                    ] {
                        steps.append(ChatStep(line: stepLine, action: action))
                    }
                    continue
                }
            case "bdat":
                // `bdat [last] <<END`: the lines up to END, each ended by CRLF, sent as one
                // chunk after `BDAT n [LAST]` (RFC 3030: no dot stuffing, no terminator).
                let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
                let last = words.count == 2 && words[0].lowercased() == "last"
                guard let marker = words.last, marker.hasPrefix("<<"), marker.count > 2,
                    words.count == 1 || last
                else {
                    fail(
                        "bdat needs [last] and a here-document marker: bdat last <<END", at: number)
                    continue
                }
                let end = marker.dropFirst(2)
                let start = number
                var chunk: [UInt8] = []
                var ended = false
                while let next = lines.popFirst() {
                    number += 1
                    if next == end {
                        ended = true
                        break
                    }
                    chunk += Array(next.utf8) + [13, 10]
                }
                guard ended else {
                    fail("bdat <<\(end) is never ended by a line \"\(end)\"", at: start)
                    continue
                }
                action = .send(Array("BDAT \(chunk.count)\(last ? " LAST" : "")\r\n".utf8) + chunk)
            case "expect":
                if trimmed.lowercased() == "close" {
                    action = .expectClose
                } else if let expectation = ReplyExpectation(parsing: trimmed) {
                    action = .expect(expectation)
                } else {
                    fail(
                        "expect needs a reply code (250, 2xx) or \"close\", got \"\(trimmed)\"",
                        at: number)
                    continue
                }
            case "close":
                action = .close
            case "pipeline":
                if group != nil {
                    fail("pipeline inside a pipeline", at: number)
                } else {
                    group = (number, [], false)
                }
                continue
            case "end":
                guard let open = group else {
                    fail("end without pipeline", at: number)
                    continue
                }
                steps.append(ChatStep(line: open.line, action: .pipeline(open.steps)))
                group = nil
                continue
            default:
                fail(
                    "unknown command \"\(keyword)\" (connect, send, send-raw, body, auth, bdat, expect, pipeline, end, timeout, sleep, close)",
                    at: number)
                continue
            }
            guard let action else { continue }
            if var open = group {
                switch action {
                case .send:
                    if open.sawExpect {
                        fail(
                            "send after expect inside a pipeline: start a new pipeline",
                            at: number)
                    }
                case .expect, .expectClose: open.sawExpect = true
                case .timeout: break
                default:
                    fail(
                        "only send, send-raw, body, expect and timeout inside a pipeline",
                        at: number)
                }
                open.steps.append(ChatStep(line: stepLine, action: action))
                group = open
            } else {
                steps.append(ChatStep(line: stepLine, action: action))
            }
        }
        if let open = group { fail("pipeline is never ended by \"end\"", at: open.line) }
        if !errors.isEmpty { throw ChatScriptErrors(errors: errors) }
        return ChatScript(name: name, steps: steps)
    }

    /// `connect [HOST] [PORT] [netns NAME]`.
    static func parseConnect(_ text: Substring, fail: (String) -> Void) -> ChatAction? {
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })[...]
        var host: String?
        var port: UInt16?
        var namespace: String?
        while let word = words.popFirst() {
            if word == "netns" {
                guard let name = words.popFirst() else {
                    fail("connect: netns needs a name")
                    return nil
                }
                namespace = String(name)
            } else if port == nil, let number = UInt16(word), number > 0 {
                port = number
            } else if host == nil, port == nil {
                host = String(word)
            } else {
                fail("connect [HOST] [PORT] [netns NAME]: unexpected \"\(word)\"")
                return nil
            }
        }
        return .connect(host: host, port: port, namespace: namespace)
    }

    struct UnescapeError: Error {
        var message: String
    }

    /// `"EHLO x\r\n"` → bytes: `\r \n \t \0 \\ \" \xNN`; the quotes are required.
    static func unescape(_ text: Substring) -> Result<[UInt8], UnescapeError> {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\"")
        else { return .failure(UnescapeError(message: "send-raw needs a \"quoted string\"")) }
        var out: [UInt8] = []
        var index = 1
        while index < bytes.count - 1 {
            let byte = bytes[index]
            index += 1
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            guard index < bytes.count - 1 else {
                return .failure(UnescapeError(message: "send-raw: backslash at the end"))
            }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "0"): out.append(0)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): out.append(escape)
            case UInt8(ascii: "x"):
                guard index + 1 < bytes.count - 1,
                    let value = UInt8(
                        String(decoding: bytes[index...(index + 1)], as: UTF8.self), radix: 16)
                else {
                    return .failure(UnescapeError(message: "send-raw: \\x needs two hex digits"))
                }
                out.append(value)
                index += 2
            default:
                return .failure(
                    UnescapeError(
                        message: "send-raw: unknown escape \\\(Character(Unicode.Scalar(escape)))"))
            }
        }
        return .success(out)
    }
}

/// Every error of one script, one per line in the description.
public struct ChatScriptErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [ChatScriptError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var result = self.drop { $0 == " " || $0 == "\t" }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
