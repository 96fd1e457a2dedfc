/// MailLab `transcript directory "PATH" [max-size SIZE]`: a byte-exact transcript of every
/// session, one file per session in PATH (docs/TRANSCRIPTS.md). OpenSMTPD has no such
/// statement.
public struct TranscriptSettings: Sendable, Equatable {
    /// Where the files go (relative paths: to smtpd's working directory).
    public var directory: String
    /// The most bytes one transcript file may take; after that a `truncated` note and
    /// nothing more. Default 10 MiB.
    public var maxSize: Int

    public static let defaultMaxSize = 10 * 1024 * 1024

    public init(directory: String, maxSize: Int = TranscriptSettings.defaultMaxSize) {
        self.directory = directory
        self.maxSize = maxSize
    }
}

extension ConfigParser {
    /// `transcript directory "PATH" [max-size SIZE]`.
    mutating func transcript() throws {
        advance()
        try expect("directory")
        let token = peek()
        let path = try parseString("a quoted directory path")
        guard !path.isEmpty, !path.contains("\0") else {
            throw fail("invalid transcript directory: \(path)", at: token)
        }
        var settings = TranscriptSettings(directory: path)
        if accept("max-size") {
            let sizeToken = peek()
            settings.maxSize = try parseSize()
            // Room for the header and a few records: anything smaller records nothing useful.
            guard settings.maxSize >= 1024 else {
                throw fail("transcript max-size must be at least 1K", at: sizeToken)
            }
        }
        guard atEndOfStatement else {
            throw unexpected(peek(), expected: "max-size or the end of the line")
        }
        config.transcripts = settings
    }
}
