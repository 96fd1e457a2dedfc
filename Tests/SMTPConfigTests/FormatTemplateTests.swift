import Testing

@testable import SMTPConfig

@Suite struct FormatTemplateTests {
    let values = FormatTemplate.Values(
        sender: ("Alice", "Example.ORG"), rcpt: ("Bob+Lists", "example.net"),
        dest: ("bob", "example.net"), userName: "bob", userDirectory: "/home/bob",
        mdaCommand: "/usr/bin/procmail")

    func expand(_ template: String, _ values: FormatTemplate.Values? = nil) throws -> String? {
        try FormatTemplate(template).expand(values ?? self.values)
    }

    @Test func variables() throws {
        #expect(try expand("%{sender}") == "Alice@Example.ORG")
        #expect(try expand("%{sender.user}/%{sender.domain}") == "Alice/Example.ORG")
        #expect(try expand("%{rcpt}") == "Bob+Lists@example.net")
        #expect(try expand("%{rcpt.user} %{rcpt.domain}") == "Bob+Lists example.net")
        #expect(
            try expand("%{dest} %{dest.user} %{dest.domain}") == "bob@example.net bob example.net")
        #expect(try expand("%{user.username}:%{user.directory}") == "bob:/home/bob")
        #expect(try expand("%{mbox.from}") == "Alice@Example.ORG")
        #expect(try expand("%{mda}") == "/usr/bin/procmail")
        #expect(try expand("%{RCPT.DOMAIN}") == "example.net")
    }

    @Test func emptySender() throws {
        var v = values
        v.sender = ("", "")
        #expect(try expand("<%{sender}>", v) == "<>")
        #expect(try expand("%{mbox.from}", v) == "MAILER-DAEMON")
    }

    @Test func homeAndPercent() throws {
        #expect(try expand("~/Maildir") == "/home/bob/Maildir")
        #expect(try expand("/x/~/y") == "/x/~/y")
        #expect(try expand("100%% %{rcpt.domain}") == "100% example.net")
        #expect(try expand("a%b") == "a%b")
    }

    @Test func substrings() throws {
        #expect(try expand("%{rcpt.domain[0]}") == "e")
        #expect(try expand("%{rcpt.domain[8:]}") == "net")
        #expect(try expand("%{rcpt.domain[-3:]}") == "net")
        #expect(try expand("%{rcpt.domain[0:6]}") == "example")
        #expect(try expand("%{rcpt.domain[0:-4]}") == "example")
        #expect(try expand("%{rcpt.domain[:2]}") == "exa")
        #expect(try expand("%{rcpt.domain[50]}") == nil)
    }

    @Test func modifiers() throws {
        #expect(try expand("%{rcpt.user:lowercase}") == "bob+lists")
        #expect(try expand("%{rcpt.user:uppercase}") == "BOB+LISTS")
        #expect(try expand("%{rcpt.user:strip}") == "Bob")
        #expect(try expand("%{rcpt:strip|lowercase}") == "bob@example.net")
        #expect(try expand("%{rcpt.user[0]:lowercase}") == "b")
    }

    @Test func escapingUnlessRaw() throws {
        var v = values
        v.rcpt = ("a|b{c}$d", "x")
        #expect(try expand("%{rcpt.user}", v) == "a:b:c::d")
        #expect(try expand("%{rcpt.user:raw}", v) == "a|b{c}$d")
        v.userDirectory = "/home/{odd}"
        #expect(try expand("%{user.directory}", v) == "/home/{odd}")
    }

    @Test func invalidTemplates() {
        #expect(throws: FormatTemplate.ParseError.self) { try FormatTemplate("%{nope}") }
        #expect(throws: FormatTemplate.ParseError.self) { try FormatTemplate("%{rcpt") }
        #expect(throws: FormatTemplate.ParseError.self) { try FormatTemplate("%{rcpt:shout}") }
        #expect(throws: FormatTemplate.ParseError.self) { try FormatTemplate("%{rcpt[]}") }
        #expect(throws: FormatTemplate.ParseError.self) { try FormatTemplate("%{rcpt[x]}") }
        #expect(throws: FormatTemplate.ParseError.self) {
            try FormatTemplate("%{" + String(repeating: "a", count: 200) + "}")
        }
    }

    @Test func parserChecksTemplates() {
        #expect(
            errors("action a maildir \"/var/mail/%{nope}\"\nmatch for any reject")
                == ["smtpd.conf:1: invalid format: unknown format specifier %{nope}"])
        #expect(
            errors("accept for local deliver to mda \"cmd %{rcpt\"")
                == [
                    "smtpd.conf:1: invalid format: unterminated %{ in \"cmd %{rcpt\"",
                    "smtpd.conf:1: no rules, nothing to do",
                ])
        #expect(
            errors("mda wrapper w \"%{mda:bad}\"\nmatch for any reject")
                == ["smtpd.conf:1: invalid format: unknown modifier \"bad\" in %{mda:bad}"])
    }
}
