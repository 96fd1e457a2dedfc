import Foundation
import Testing

@testable import MaildirDelivery
@testable import MaildirInspection

@Suite struct MaildirCheckTests {
    @Test(
        arguments: [
            ("1700000000.M1P1Q1.host", nil),
            ("1795924911.d055bf29.vm", nil),
            ("1700000000.M1P1Q1.mail.example.org,S=5,W=5:2,S", nil),
            ("1700000000.M1P1Q1.h,X=anything:2,", nil),
            ("message.eml", "not <seconds>.<unique>.<host>"),
            ("1700000000..host", "not <seconds>.<unique>.<host>"),
            ("x1.M1.host", "x1 is not a number of seconds"),
            ("1.M1.host,S=", "field \",S=\" is not KEY=VALUE"),
            ("1.M1.host,S=5x", "S=5x is not a size"),
            ("1.M1.host,", "field \",\" is not KEY=VALUE"),
            ("1.M1 2.host", "blank or control character"),
        ] as [(String, String?)])
    func names(name: String, problem: String?) {
        let message = MaildirMessage(
            name: name, folder: .cur, path: "/nonexistent/" + name, size: 5, mtime: 0)
        let found = Maildir.nameProblems(message)
        #expect(found.map(\.detail) == (problem.map { [$0] } ?? []))
        #expect(found.allSatisfy { $0.kind == .badName })
    }

    @Test func sizesInTheNameAreCompared() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path)
        try maildir.prepare()
        let content = bytes("Subject: x\n\nbody\n")  // 17 bytes, 20 with CRLF
        for name in ["1.M1.h,S=17,W=20:2,S", "2.M1.h,S=17,W=17:2,S", "3.M1.h,S=16:2,S"] {
            #expect(
                FileManager.default.createFile(
                    atPath: maildir.cur + "/" + name, contents: Data(content)))
        }

        let found = maildir.check(now: fixedNow).map { "\($0.kind.rawValue) \($0.detail)" }

        #expect(found == ["size mismatch W=17, file has 20", "size mismatch S=16, file has 17"])
    }

    @Test func permissionsAreChecked() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path)
        try maildir.prepare()
        #expect(chmod(maildir.new, 0o500) == 0)
        #expect(chmod(maildir.cur, 0o777) == 0)
        defer { _ = chmod(maildir.new, 0o700) }

        let report = MaildirCheckReport.text(maildir.check(now: fixedNow), maildir: maildir)

        #expect(
            report == """
                permissions: cur (0777: anyone may write)
                permissions: new (0500: owner needs rwx)
                2 problems

                """)
    }

    /// smtpd keeps a delivered file's tmp/ name until a flush covers its new/ name: that is
    /// the same file, not a delivery in progress. A tmp/ file linked elsewhere still is one.
    @Test func aDeliveredFilesTmpTwinIsNoProblem() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path)
        try maildir.prepare()
        let message = Data("Subject: x\n\nbody\n".utf8)
        let temporary = { maildir.check(now: 1_700_000_000).filter { $0.kind == .temporaryFile } }
        let name = "1700000000.M1P1Q1.h"
        #expect(FileManager.default.createFile(atPath: maildir.new + "/" + name, contents: message))
        #expect(link(maildir.new + "/" + name, maildir.tmp + "/" + name + ",S=17") == 0)
        #expect(temporary().isEmpty)

        let other = "1700000000.M2P1Q2.h"
        #expect(
            FileManager.default.createFile(atPath: maildir.new + "/" + other, contents: message))
        #expect(link(maildir.new + "/" + other, maildir.tmp + "/1700000000.M3P1Q3.h,S=17") == 0)
        #expect(temporary().map(\.path) == [maildir.tmp + "/1700000000.M3P1Q3.h,S=17"])
    }

    @Test func temporaryFilesAreStaleAfter36Hours() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path)
        try maildir.prepare()
        let started: Int64 = 1_700_000_000
        #expect(
            FileManager.default.createFile(
                atPath: maildir.tmp + "/\(started).M1P1Q1.h", contents: nil))

        let recent = maildir.check(now: started + Maildir.staleTemporaryAge)
        let stale = maildir.check(now: started + Maildir.staleTemporaryAge + 1)

        #expect(recent.map(\.detail) == ["recent: a delivery may be in progress"])
        #expect(stale.map(\.detail) == ["stale: older than 36 hours"])
        #expect(stale.map(\.kind) == [.temporaryFile])
    }

    @Test func missingRootIsOneProblem() {
        let maildir = Maildir(root: fixtures + "/does-not-exist")
        let found = maildir.check(now: fixedNow)
        #expect(found.map(\.kind) == [.missingFolder])
        #expect(
            MaildirCheckReport.text(found, maildir: maildir)
                == "missing folder: . (stat \(maildir.root): No such file or directory)\n1 problem\n"
        )
    }

    @Test func contentProblems() {
        func details(_ text: String) -> [String] {
            Maildir.contentProblems(Array(text.utf8), path: "p").map(\.detail)
        }
        #expect(details("Subject: x\r\n\r\nbody\r\n") == [])
        #expect(details("Subject: x\n") == [])
        #expect(details("Subject: x\r\n\r\nbody") == ["no line end at the end"])
        #expect(
            details("Subject: a\rb\r\n\r\nbody\rok\r\n") == ["bare CR in header section, line 1"])
        #expect(details("A: 1\nSubject: a\0b\n\nbody\0ok\n") == ["NUL in header section, line 2"])
        #expect(
            details("Subject: x\nbody\n") == [
                "line 2 is not a header field and no blank line precedes it"
            ])
    }
}
