import Testing

@Test func SMTPConfigBuilds() { #expect(Bool(true)) }
