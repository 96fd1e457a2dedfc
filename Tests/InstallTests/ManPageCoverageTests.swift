import Foundation
import MailLabTestSupport
import Testing

@testable import Lab
@testable import SMTPConfig

/// Every keyword, statement and command the code accepts is in its man page.
@Suite struct ManPageCoverageTests {
    /// The words the config parser matches on in its sources (`accept("ttl")`, `case
    /// "maildir", "mbox":`): catches a keyword added to the parser and not to any list.
    static func parserWords() throws -> Set<String> {
        let folder = packageRoot + "/Sources/SMTPConfig"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasSuffix(".swift") }
        let call = try Regex(#"(?:accept|expect|at)\("([a-z][a-z0-9-]*)"\)"#)
        let literal = try Regex(#""([a-z][a-z0-9-]*)""#)
        var words: Set<String> = []
        for file in files {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") {
                for match in line.matches(of: call) {
                    if let word = match.output[1].substring { words.insert(String(word)) }
                }
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("case \""), let colon = code.firstIndex(of: ":") {
                    for match in code[..<colon].matches(of: literal) {
                        if let word = match.output[1].substring { words.insert(String(word)) }
                    }
                }
            }
        }
        // Duration units (`5m`), not keywords.
        return words.subtracting(["s", "m", "h", "d"])
    }

    @Test func smtpdConfPageNamesEveryKeywordTheParserAccepts() throws {
        let page = try ManPage("smtpd.conf.5")
        let listed = Keywords.new.union(Keywords.old).union(Keywords.statements)
            .union(Keywords.mailLab)
        let scanned = try Self.parserWords()
        #expect(scanned.count > 100, "the source scan found too little: \(scanned.count)")
        let missing = listed.union(scanned).subtracting(page.macroWords)
        #expect(missing.isEmpty, "smtpd.conf(5) lacks \(missing.sorted())")
    }

    @Test func smtpdConfPageMarksMailLabsOwnKeywords() throws {
        let page = try ManPage("smtpd.conf.5")
        let extensions = ManPage.words(of: page.section("MAILLAB EXTENSIONS"))
        let marked = page.entries.filter { $0.text.contains { $0.contains("MailLab:") } }
            .reduce(into: Set<String>()) { $0.formUnion(ManPage.words(of: $1.heads)) }
        let unmarked = Keywords.mailLab.subtracting(extensions).subtracting(marked)
        #expect(unmarked.isEmpty, "smtpd.conf(5) does not mark as MailLab's: \(unmarked.sorted())")
    }

    @Test func labPageHasAnEntryForEveryLabStatement() throws {
        let page = try ManPage("mlab-lab.5")
        let missing = LabParser.statements.filter { !page.hasEntry($0) }
        #expect(missing.isEmpty, "mlab-lab(5) has no entry for \(missing)")
    }

    /// The list the page is checked against is the one the parser dispatches on: each of
    /// its statements reaches its own parser (no "unknown statement"), a word off the list
    /// does not.
    @Test func labStatementListIsWhatTheParserDispatchesOn() {
        func errors(_ text: String) -> String {
            do {
                _ = try LabParser.parse(text, file: "t.lab")
                return ""
            } catch { return error.description }
        }
        for statement in LabParser.statements {
            #expect(!errors(statement).contains("unknown statement"), "\(statement)")
        }
        #expect(errors("bogus-statement").contains("unknown statement"))
    }

    @Test(.requires(.mlab)) func mlabPageHasAnEntryForEverySubcommand() throws {
        let leaves = try commandLeaves(of: .mlab)
        #expect(leaves.contains("lab up") && leaves.count > 40, "\(leaves)")
        let page = try ManPage("mlab.1")
        let missing = leaves.filter { !page.hasEntry($0) }
        #expect(missing.isEmpty, "mlab(1) has no entry for \(missing)")
    }

    @Test(.requires(.smtpctl)) func smtpctlPageHasAnEntryForEveryVerb() throws {
        let leaves = try commandLeaves(of: .smtpctl)
        #expect(leaves.contains("show") && leaves.contains("encrypt"), "\(leaves)")
        let page = try ManPage("smtpctl.8")
        let missing = leaves.filter { !page.hasEntry($0) }
        #expect(missing.isEmpty, "smtpctl(8) has no entry for \(missing)")
    }
}
