import Testing

@Test func ReactorBuilds() { #expect(Bool(true)) }
