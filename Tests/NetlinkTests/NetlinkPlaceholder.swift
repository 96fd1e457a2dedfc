import Testing

@Test func NetlinkBuilds() { #expect(Bool(true)) }
