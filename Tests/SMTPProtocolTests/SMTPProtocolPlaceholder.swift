import Testing

@Test func SMTPProtocolBuilds() { #expect(Bool(true)) }
