import Testing

@Test func LabBuilds() { #expect(Bool(true)) }
