import Foundation
import LinuxSystem
import Testing

@testable import MaildirDelivery
@testable import MaildirInspection

/// `ls`, `ls --json`, `show N` and `check` for every fixture, against maildir-fixtures/expected/.
@Suite struct MaildirGoldenTests {
    @Test(arguments: fixtureNames)
    func listing(fixture: String) {
        let maildir = Maildir(root: fixtures + "/" + fixture)
        let text: String
        let json: String
        do {
            let entries = try maildir.list()
            text = MaildirListFormat.text(entries)
            json = MaildirListFormat.json(entries)
        } catch {
            text = "error: \(relative(error.description))\n"
            json = text
        }
        Golden.check(text, "\(fixture)/ls.txt")
        Golden.check(json, "\(fixture)/ls.json")
    }

    @Test(arguments: fixtureNames)
    func folderSelection(fixture: String) throws {
        let maildir = Maildir(root: fixtures + "/" + fixture)
        if try Golden.listingFails(fixture) {
            #expect(throws: SystemError.self) { try maildir.list() }
            return
        }
        let all = try maildir.list()
        let new = try maildir.list(folders: [.new])
        let cur = try maildir.list(folders: [.cur])
        #expect(new.allSatisfy { $0.message.folder == .new })
        #expect(cur.allSatisfy { $0.message.folder == .cur })
        #expect(Set(new + cur) == Set(all))
        #expect(try maildir.count() == all.count)
        #expect(try maildir.count(folders: [.new]) == new.count)
    }

    @Test(arguments: fixtureNames)
    func showEachMessage(fixture: String) throws {
        let maildir = Maildir(root: fixtures + "/" + fixture)
        if try Golden.listingFails(fixture) {
            #expect(throws: SystemError.self) { try maildir.messages() }
            return
        }
        let messages = try maildir.messages()
        #expect(messages.count == Golden.shownMessages(fixture), "show-N.txt files for \(fixture)")
        for number in messages.indices {
            let message = try maildir.message("\(number + 1)")
            #expect(message == messages[number])
            let shown = MaildirShow.render(message, bytes: try maildir.read(message))
            Golden.check(shown, "\(fixture)/show-\(number + 1).txt")
        }
    }

    @Test(arguments: fixtureNames)
    func check(fixture: String) {
        let maildir = Maildir(root: fixtures + "/" + fixture)
        let report = MaildirCheckReport.text(maildir.check(now: fixedNow), maildir: maildir)
        Golden.check(report, "\(fixture)/check.txt")
    }

    @Test func healthyFixturesHaveNoProblemsAndBrokenOnesDo() {
        for name in fixtureNames {
            let problems = Maildir(root: fixtures + "/" + name).check(now: fixedNow)
            #expect(problems.isEmpty == ["good", "varied"].contains(name), "\(name): \(problems)")
        }
    }
}
