import Testing

@testable import MaildirDelivery
@testable import MaildirInspection

@Suite struct MaildirTextTests {
    @Test func jsonEscapes() {
        #expect(MaildirText.json("a\"b\\c\nd\te\u{1}ü") == #""a\"b\\c\nd\te\u0001ü""#)
    }

    @Test func visibleControls() {
        #expect(MaildirText.visible("a\rb\0c\u{1B}d\te\nf") == "a\\rb\\0c\\x1Bd e\\nf")
        #expect(MaildirText.visible("a\tb\nc\r", keepLines: true) == "a\tb\nc\\r")
    }

    @Test func columnsCutAndPad() {
        #expect(MaildirText.column("abc", 5) == "abc  ")
        #expect(MaildirText.column("abcdef", 5) == "abcd…")
        #expect(MaildirText.column("Grüße", 5) == "Grüße")
        #expect(MaildirText.rightAligned("42", 5) == "   42")
    }

    @Test(arguments: [
        ("Zoë Müller <zoe@example.org>", "Zoë Müller"),
        ("\"Doe, Jane\" <jane@example.org>", "Doe, Jane"),
        ("<only@example.org>", "only@example.org"),
        ("plain@example.org", "plain@example.org"),
        ("", ""),
    ])
    func senderColumn(from: String, sender: String) {
        var entry = MaildirListEntry(
            message: MaildirMessage(name: "1.M1.h", folder: .new, path: "/x", size: 0, mtime: 0),
            bytes: [])
        entry.from = from
        #expect(entry.sender == sender)
    }
}
