import Testing

@Test func MaildirBuilds() { #expect(Bool(true)) }
