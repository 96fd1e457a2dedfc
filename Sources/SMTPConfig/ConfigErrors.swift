/// A place in a configuration file: the file name as given (to `-f` or `include`) and a
/// 1-based line number. For a statement continued with `\`, the line is its first line.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 means "the file as a whole" (it could not be read).
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { line > 0 ? "\(file):\(line)" : file }
}

/// One configuration error, printed as `FILE:LINE: message` like OpenSMTPD's `yyerror`.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// Every error found in a configuration (parsing goes on after an error, statement by
/// statement, as OpenSMTPD's parser does), one per line in `description`.
public struct ConfigErrors: Error, Sendable, Hashable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
