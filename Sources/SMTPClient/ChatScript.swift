/// A parsed chat script: numbered steps (see docs/CLIENT.md for the format).
public struct ChatScript: Sendable, Equatable {
    /// The file name used in reports (`seed.chat:7: …`).
    public var name: String
    public var steps: [ChatStep]

    public init(name: String, steps: [ChatStep]) {
        self.name = name
        self.steps = steps
    }
}

/// One script step and the line it came from.
public struct ChatStep: Sendable, Equatable {
    public var line: Int
    public var action: ChatAction

    public init(line: Int, action: ChatAction) {
        self.line = line
        self.action = action
    }
}

public enum ChatAction: Sendable, Equatable {
    /// Open a connection (closing any previous one); nil fields take the defaults.
    case connect(host: String?, port: UInt16?, namespace: String?)
    /// Seconds allowed for each following reply, close or write.
    case timeout(Double)
    /// Bytes to write (a `send` line with its CRLF, a `send-raw` string, or a dot-stuffed body).
    case send([UInt8])
    case expect(ReplyExpectation)
    /// The server must close the connection.
    case expectClose
    /// The client closes the connection.
    case close
    case sleep(Double)
    /// Every `.send` written in one write, then every expectation checked in order.
    case pipeline([ChatStep])
}

/// A script error: `FILE:LINE: message`.
public struct ChatScriptError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(message)" }
}
