import Testing

@Test func SMTPServerBuilds() { #expect(Bool(true)) }
