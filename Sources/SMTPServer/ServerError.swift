/// A start-up problem: a listener that cannot be resolved or bound, an unsupported option.
/// `location` is "FILE:LINE" when a config line is to blame.
public struct ServerError: Error, Sendable, CustomStringConvertible {
    public var location: String?
    public var message: String

    public init(_ message: String, location: String? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String {
        location.map { "\($0): \(message)" } ?? message
    }
}

/// Several start-up problems, reported together like config errors.
public struct ServerErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ServerError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
