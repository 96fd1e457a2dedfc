import Testing

@testable import SMTPConfig

/// MailLab's `transcript directory "PATH" [max-size SIZE]` (docs/TRANSCRIPTS.md).
@Suite struct TranscriptStatementTests {
    @Test func theDirectoryAndTheCapAreRead() throws {
        let config = try parse("transcript directory \"/var/tmp/t\" max-size 64K" + anyRule)
        #expect(config.transcripts == TranscriptSettings(directory: "/var/tmp/t", maxSize: 65_536))
        let defaults = try parse("transcript directory \"t\"" + anyRule)
        #expect(
            defaults.transcripts == TranscriptSettings(directory: "t", maxSize: 10 * 1024 * 1024))
        #expect(try parse(anyRule).transcripts == nil)
    }

    @Test(arguments: [
        ("transcript \"/t\"", "\"directory\""),
        ("transcript directory \"\"", "invalid transcript directory: "),
        ("transcript directory \"/t\" max-size 100", "transcript max-size must be at least 1K"),
        ("transcript directory \"/t\" size 1M", "max-size or the end of the line"),
    ])
    func mistakesAreLocatedErrors(line: String, expected: String) {
        let found = errors(line + anyRule)
        #expect(
            found.count == 1 && found[0].hasPrefix("smtpd.conf:1: ") && found[0].contains(expected),
            "\(found)")
    }
}
