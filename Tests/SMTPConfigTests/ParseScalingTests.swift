import Foundation
import Testing

@testable import SMTPConfig

/// Parsing is linear in the number of statements: four times the `match` lines take about
/// four times as long, not sixteen (BENCHMARKS.md, "Config parsing").
@Suite struct ParseScalingTests {
    static func configuration(rules: Int) -> String {
        var text = "listen on lo\naction \"l\" maildir \"/tmp/x\"\n"
        for index in 0..<rules {
            text += "match from any for domain \"d\(index).example\" action \"l\"\n"
        }
        return text
    }

    static func seconds(rules: Int) throws -> Double {
        let text = configuration(rules: rules)
        let start = Date()
        let parsed = try parse(text)
        let elapsed = Date().timeIntervalSince(start)
        #expect(parsed.rules.count == rules)
        return elapsed
    }

    @Test func fourTimesTheMatchLinesTakeFarLessThanSixteenTimesAsLong() throws {
        _ = try Self.seconds(rules: 1_000)  // warm up
        let small = try Self.seconds(rules: 5_000)
        let large = try Self.seconds(rules: 20_000)
        #expect(large / small < 9, "5,000 rules: \(small) s, 20,000 rules: \(large) s")
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
