import Testing

@testable import SMTPProtocol

@Suite("Address parsing (§6)")
struct AddressParserTests {
    static func parse(_ argument: String, allowNull: Bool) -> ParsedPath? {
        AddressParser.parse(
            Array(argument.utf8), allowNull: allowNull, serverName: "vm", limits: SessionLimits())
    }

    @Test("MAIL FROM examples", arguments: AddressExamples.mailFrom)
    func mailFrom(_ example: AddressExample) {
        #expect(Self.parse(example.argument, allowNull: true)?.path.description == example.parsed)
    }

    @Test("RCPT TO examples", arguments: AddressExamples.rcptTo)
    func rcptTo(_ example: AddressExample) {
        #expect(Self.parse(example.argument, allowNull: false)?.path.description == example.parsed)
    }

    @Test("parameters after '>' split on single spaces")
    func parameters() {
        let parsed = Self.parse("<a@b>   SIZE=1  BODY=8BITMIME", allowNull: true)
        #expect(
            parsed?.parameters.map { String(decoding: $0, as: UTF8.self) } == [
                "SIZE=1", "BODY=8BITMIME",
            ])
    }

    @Test(
        "HELO names",
        arguments: [
            ("defaultNS", true), ("lower.example", true), ("[127.0.0.1]", true),
            ("[IPv6:::1]", true),
            ("[::1]", true), ("bad name", false), ("[x]", false), ("", false), ("x.", false),
            ("-x", false), ("a_b", true), ("[1.2.3.4]x", false), ("[01.2.3.4]", false),
        ])
    func heloNames(_ name: String, _ valid: Bool) {
        #expect(DomainName.isValid(Array(name.utf8)) == valid)
    }
}
