import Foundation
import Glibc
import Testing

@testable import SMTPServer

/// `smtp limit max-sessions-per-address N` and `smtp limit max-sessions N`: over the limit a
/// client hears 421 and the connection closes at once; a session that ends frees its slot.
@Suite struct SessionLimitTests {
    static func config(_ settings: String) -> String { settings + "\n" + localDeliveryConfig }

    /// The first line a new session hears.
    func firstLine(_ client: LineClient) throws -> String {
        try client.readLine()?.trimmingCharacters(in: .newlines) ?? ""
    }

    @Test(.testServer(config: Self.config("smtp limit max-sessions-per-address 5")))
    func eightSessionsFromOneAddressWithALimitOfFiveGetFiveBannersAndThree421s() throws {
        let server = try TraitServer.current()
        var kept: [LineClient] = []
        var lines: [String] = []
        for _ in 0..<8 {
            let client = try LineClient(port: server.port)
            lines.append(try firstLine(client))
            kept.append(client)
        }
        #expect(lines.filter { $0.hasPrefix("220 ") }.count == 5, "\(lines)")
        let refusal = "421 4.7.0 vm Too many sessions from your address, try again later"
        #expect(lines.filter { $0 == refusal }.count == 3, "\(lines)")
        for (client, line) in zip(kept, lines) where line == refusal {
            #expect(client.closesWithin(1))
        }
        // A loop writes a round's log lines after its replies: the last may follow its 421.
        let logged = {
            server.log.lines.filter {
                $0 == "warn: per-address session limit (5) reached: refused 127.0.0.1"
            }.count
        }
        let deadline = Date().addingTimeInterval(2)
        while logged() < 3 && Date() < deadline { usleep(10_000) }
        #expect(logged() == 3)

        // One of the five leaves: its slot is free again.
        let first = try #require(kept.first)
        #expect(try first.command("QUIT").hasPrefix("221 "))
        #expect(first.closesWithin(2))
        var admitted = ""
        for _ in 0..<50 where !admitted.hasPrefix("220 ") {
            let next = try LineClient(port: server.port)
            admitted = try firstLine(next)
            if admitted.hasPrefix("220 ") { kept.append(next) } else { usleep(20_000) }
        }
        #expect(admitted.hasPrefix("220 "), "\(admitted)")
    }

    @Test(.testServer(config: Self.config("smtp limit max-sessions 3")))
    func theTotalLimitRefusesTheSessionBeyondIt() throws {
        let server = try TraitServer.current()
        var kept: [LineClient] = []
        var lines: [String] = []
        for _ in 0..<4 {
            let client = try LineClient(port: server.port)
            lines.append(try firstLine(client))
            kept.append(client)
        }
        #expect(lines.prefix(3).allSatisfy { $0.hasPrefix("220 ") }, "\(lines)")
        #expect(lines.last == "421 4.3.2 vm Too many sessions, try again later")
    }

    /// Default: no per-address limit (a benchmark from one address is not throttled).
    @Test(.testServer(config: localDeliveryConfig)) func withoutTheSettingOneAddressIsNotLimited()
        throws
    {
        let server = try TraitServer.current()
        var kept: [LineClient] = []
        for _ in 0..<20 {
            let client = try LineClient(port: server.port)
            #expect(try firstLine(client).hasPrefix("220 "))
            kept.append(client)
        }
    }
}
