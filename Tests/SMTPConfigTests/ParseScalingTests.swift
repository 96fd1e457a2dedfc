import Testing

@testable import SMTPConfig

/// Large files and the undo of a failed statement (appends are undone by truncating, which
/// keeps parsing linear: `make bench-config`).
@Suite struct ParseScalingTests {
    static func configuration(rules: Int) -> String {
        var text = "listen on lo\naction \"l\" maildir \"/tmp/x\"\n"
        for index in 0..<rules {
            text += "match from any for domain \"d\(index).example\" action \"l\"\n"
        }
        return text
    }

    /// Every rule of a large file is kept, in order (the speed of it is a benchmark:
    /// `make bench-config`, BENCHMARKS.md "Config parsing").
    @Test func twentyThousandMatchLinesAllBecomeRules() throws {
        let parsed = try parse(Self.configuration(rules: 20_000))
        #expect(parsed.rules.count == 20_000)
        #expect(parsed.rules.last?.location.line == 20_002)
    }

    /// A failed statement still leaves nothing behind once appends are undone by truncating.
    @Test func aFailedMatchOrActionLeavesNoRuleOrActionBehind() {
        let text = """
            listen on lo
            action "l" mbox alias
            action "l" maildir "/tmp/y"
            match from any for any action "l" junk
            match from any for any action "l"
            """
        var parser = ConfigParser(text: text, file: "smtpd.conf", macros: [:]) { _ in "" }
        let (configuration, found) = parser.run()
        // Line 3 is no redefinition: line 2's action was taken back.
        #expect(found.map { $0.description.prefix(13) } == ["smtpd.conf:2:", "smtpd.conf:4:"])
        #expect(configuration.actions.map(\.location.line) == [3])
        #expect(configuration.rules.map(\.location.line) == [5])
    }
}
