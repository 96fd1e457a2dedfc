import Foundation
import Testing

/// One recorded SMTP dialogue: what the client wrote and what the server answered after each
/// write (golden tests as data, like OpenSMTPD's smtpscript). Replayed by the session tests
/// and the socket tests alike.
public struct Transcript: Sendable, CustomStringConvertible, CustomTestStringConvertible {
    public enum Instance: Sendable {
        /// Section 7.1's main.conf: default limits.
        case reference
        /// A.3: `smtp max-message-size 1000`, `smtp limit max-rcpt 2 max-mails 2`.
        case limits
    }

    public enum Expect: Sendable, Hashable {
        /// One reply line, without its CRLF.
        case line(String)
        /// The server closes the connection.
        case closed
        /// Nothing comes, and the connection stays open.
        case silent
    }

    public struct Step: Sendable, Hashable {
        /// One client write; nil: the client closes its side.
        public var send: [UInt8]?
        /// What the server does after it, in order.
        public var expect: [Expect]

        public init(send: [UInt8]?, expect: [Expect]) {
            self.send = send
            self.expect = expect
        }

        /// A write of `text` answered by `replies` (without CRLF), then a close if `closes`.
        public static func send(_ text: String, _ replies: [String], closes: Bool = false)
            -> Step
        {
            Step(
                send: Array(text.utf8),
                expect: replies.map { .line($0) } + (closes ? [.closed] : []))
        }

        /// The client closes its side.
        public static let disconnect = Step(send: nil, expect: [])

        /// The reply lines expected after this step.
        public var replies: [String] {
            expect.compactMap { if case .line(let line) = $0 { line } else { nil } }
        }

        public var closes: Bool { expect.contains(.closed) }
    }

    public var name: String
    public var instance: Instance
    /// The server's lines before the first write.
    public var greeting: [String]
    public var steps: [Step]

    public init(
        name: String, instance: Instance = .reference,
        greeting: [String] = ["220 vm ESMTP MailLab"], steps: [Step]
    ) {
        self.name = name
        self.instance = instance
        self.greeting = greeting
        self.steps = steps
    }

    public var description: String { name }
    public var testDescription: String { name }

    /// The whole client side as one byte stream (up to a disconnect).
    public var clientBytes: [UInt8] {
        steps.prefix { $0.send != nil }.flatMap { $0.send ?? [] }
    }

    public var endsWithDisconnect: Bool { steps.last?.send == nil && !steps.isEmpty }
}

/// The files of Tests/Fixtures/opensmtpd-transcripts (see its README for the notation),
/// read once.
public enum OpenSMTPDTranscripts {
    public static let directory = packageRoot + "/Tests/Fixtures/opensmtpd-transcripts"

    /// Every transcript, as MailLab is expected to replay it: the banner names MailLab, and
    /// EHLO replies list PIPELINING when the server under test advertises it.
    public static func all(advertisingPipelining: Bool) throws -> [Transcript] {
        try recorded.get().map { $0.forMailLab(advertisingPipelining: advertisingPipelining) }
    }

    /// The transcript called `name` (its file name without `.txt`).
    public static func named(_ name: String, advertisingPipelining: Bool) throws -> Transcript {
        guard
            let found = try all(advertisingPipelining: advertisingPipelining).first(where: {
                $0.name == name
            })
        else { throw TranscriptError(description: "no transcript \(name) in \(directory)") }
        return found
    }

    /// The sections' folders and the instance each ran on.
    static let sections: [(folder: String, instance: Transcript.Instance)] = [
        ("7.2", .reference), ("A.1", .reference), ("A.2", .reference), ("A.3", .limits),
    ]

    private static let recorded: Result<[Transcript], TranscriptError> = Result {
        var transcripts: [Transcript] = []
        for (folder, instance) in sections {
            let path = directory + "/" + folder
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw TranscriptError(description: "\(path): \(error.localizedDescription)")
            }
            for name in names.sorted() where name.hasSuffix(".txt") {
                let file = path + "/" + name
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw TranscriptError(description: "\(file): cannot read")
                }
                transcripts.append(
                    try parse(
                        String(decoding: data, as: UTF8.self), name: String(name.dropLast(4)),
                        instance: instance, file: file))
            }
        }
        return transcripts
    }.mapError { $0 as? TranscriptError ?? TranscriptError(description: "\($0)") }

    /// Reads one file in the reference's notation; `file:line: message` on anything else.
    public static func parse(
        _ text: String, name: String, instance: Transcript.Instance, file: String
    ) throws -> Transcript {
        var greeting: [Transcript.Expect] = []
        var steps: [Transcript.Step] = []
        func fail(_ number: Int, _ message: String) -> TranscriptError {
            TranscriptError(description: "\(file):\(number): \(message)")
        }
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let number = index + 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("C: ") {
                let payload = line.dropFirst(3)
                if payload == "<client closes connection>" {
                    steps.append(.disconnect)
                } else if payload.hasPrefix("<nothing") {
                    continue  // the recording notes that no write happened here
                } else if payload.hasPrefix("<"), payload.hasSuffix(">") {
                    throw fail(number, "unknown annotation: \(payload)")
                } else {
                    do {
                        steps.append(
                            Transcript.Step(send: try transcriptBytes(payload), expect: []))
                    } catch {
                        throw fail(number, error.description)
                    }
                }
            } else if line.hasPrefix("S: ") {
                let expect: Transcript.Expect
                do {
                    expect = try serverExpectation(line.dropFirst(3))
                } catch {
                    throw fail(number, error.description)
                }
                if steps.isEmpty {
                    guard case .line = expect else {
                        throw fail(number, "the greeting is a reply line")
                    }
                    greeting.append(expect)
                } else if expect == .closed, steps[steps.count - 1].expect.last == .closed {
                    continue  // "<connection reset>" then "<connection closed by server>"
                } else {
                    steps[steps.count - 1].expect.append(expect)
                }
            } else {
                throw fail(number, "neither `C: `, `S: ` nor a `#` comment: \(line)")
            }
        }
        guard !greeting.isEmpty, !steps.isEmpty else {
            throw TranscriptError(description: "\(file): no greeting or no client write")
        }
        return Transcript(
            name: name, instance: instance,
            greeting: greeting.compactMap { if case .line(let l) = $0 { l } else { nil } },
            steps: steps)
    }

    private static func serverExpectation(_ payload: Substring) throws(TranscriptError)
        -> Transcript.Expect
    {
        if payload == "<connection closed by server>" || payload == "<connection reset>" {
            return .closed
        }
        if payload.hasPrefix("<no reply") || payload.hasPrefix("<connection still open") {
            return .silent
        }
        let bytes = try transcriptBytes(payload)
        guard bytes.count >= 2, bytes.suffix(2) == [0x0D, 0x0A] else {
            throw TranscriptError(description: "a reply line must end in \\r\\n: \(payload)")
        }
        return .line(String(decoding: bytes.dropLast(2), as: UTF8.self))
    }
}

/// The bytes of one write in the reference's notation: `\r`, `\n`, `\t`, `\\`, `\xNN`, a
/// backslash before anything else as itself, `<'X' * N>`, `<N lines of 'x'*M>` and
/// `<N 'text with hopN' header lines>`. An abbreviation (`...(`) is an error.
public func transcriptBytes(_ text: Substring) throws(TranscriptError) -> [UInt8] {
    if text.contains("...(") || text.contains(" ... (") {
        throw TranscriptError(description: "abbreviated in the recording; write it out: \(text)")
    }
    var bytes: [UInt8] = []
    var rest = text[...]
    while let first = rest.first {
        if first == "<", let (expanded, after) = expandAnnotation(rest) {
            bytes += expanded
            rest = rest[after...]
        } else if first == "\\" {
            switch rest.dropFirst().first {
            case "r": bytes.append(0x0D)
            case "n": bytes.append(0x0A)
            case "t": bytes.append(0x09)
            case "\\": bytes.append(0x5C)
            case "x":
                guard let value = UInt8(String(rest.dropFirst(2).prefix(2)), radix: 16) else {
                    throw TranscriptError(description: "bad \\x escape: \(text)")
                }
                bytes.append(value)
                rest = rest.dropFirst(2)
            default:
                // A lone backslash (`<a\b@x.example>`) is itself.
                bytes.append(0x5C)
                rest = rest.dropFirst()
                continue
            }
            rest = rest.dropFirst(2)
        } else {
            bytes += Array(String(first).utf8)
            rest = rest.dropFirst()
        }
    }
    return bytes
}

/// One `<…>` annotation at the start of `text`: its bytes and where the text goes on. nil: a
/// plain `<` (`MAIL FROM:<a@b>`).
private func expandAnnotation(_ text: Substring) -> ([UInt8], Substring.Index)? {
    if let match = text.prefixMatch(of: #/<'(.)' \* (\d+)>/#), let count = Int(match.2) {
        return (
            Array(repeating: Array(String(match.1).utf8)[0], count: count), match.range.upperBound
        )
    }
    if let match = text.prefixMatch(of: #/<(\d+) lines of '(.)'\*(\d+)>/#),
        let count = Int(match.1), let length = Int(match.3)
    {
        let line = String(repeating: String(match.2), count: length)
        return (
            Array(Array(repeating: line, count: count).joined(separator: "\r\n").utf8),
            match.range.upperBound
        )
    }
    if let match = text.prefixMatch(of: #/<(\d+) '([^']*)' header lines>/#),
        let count = Int(match.1)
    {
        let lines = (0..<count).map { String(match.2).replacing("hopN", with: "hop\($0)") }
        return (Array(lines.joined(separator: "\r\n").utf8), match.range.upperBound)
    }
    return nil
}

public struct TranscriptError: Error, CustomStringConvertible {
    public let description: String
}

extension Transcript {
    /// The banner names MailLab; EHLO replies list PIPELINING before HELP when advertised.
    func forMailLab(advertisingPipelining: Bool) -> Transcript {
        var copy = self
        copy.greeting = greeting.map {
            $0 == "220 vm ESMTP OpenSMTPD" ? "220 vm ESMTP MailLab" : $0
        }
        guard advertisingPipelining else { return copy }
        for index in copy.steps.indices {
            var expect: [Expect] = []
            for item in copy.steps[index].expect {
                if item == .line("250 HELP"), expect.last == .line("250-DSN") {
                    expect.append(.line("250-PIPELINING"))
                }
                expect.append(item)
            }
            copy.steps[index].expect = expect
        }
        return copy
    }
}
