import Reactor
import Testing

/// `protocols` as libtls reads it, onto the minimum and maximum OpenSSL takes.
@Test func tlsProtocolStringsBecomeAContiguousRange() throws {
    #expect(try TLSProtocolRange.parse("secure").get() == TLSProtocolRange(lowest: 2, highest: 3))
    #expect(try TLSProtocolRange.parse("tlsv1.2").get() == TLSProtocolRange(lowest: 2, highest: 2))
    #expect(
        try TLSProtocolRange.parse("all:!tlsv1.0:-tlsv1.1").get()
            == TLSProtocolRange(lowest: 2, highest: 3))
    #expect(
        try TLSProtocolRange.parse("TLSv1.2, tlsv1.3").get()
            == TLSProtocolRange(lowest: 2, highest: 3))
    #expect(throws: TLSError.self) { try TLSProtocolRange.parse("tlsv1.0,tlsv1.3").get() }
    #expect(throws: TLSError.self) { try TLSProtocolRange.parse("sslv3").get() }
    #expect(throws: TLSError.self) { try TLSProtocolRange.parse("").get() }
}
