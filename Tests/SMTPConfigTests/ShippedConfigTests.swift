import Testing

@testable import SMTPConfig

/// conf/*.conf, read through `load` as `smtpd -f` would.
@Suite struct ShippedConfigTests {
    static let confDirectory: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/SMTPConfigTests/ShippedConfigTests.swift
        return parts.joined(separator: "/") + "/conf"
    }()

    @Test func courseConfigIsVerbatimAndParses() throws {
        let path = Self.confDirectory + "/smtpd.conf"
        let text = try readFile(path, regularOnly: true)
        #expect(
            text
                == "listen on bbb port 25\naccept from any for local deliver to maildir \"/tmp/maildir\"\n"
        )
        let config = try SMTPConfiguration.load(path: path)
        #expect(config.listeners.map(\.target) == [.interface("bbb")])
        #expect(config.listeners[0].port == 25)
        #expect(config.actions[0].method == .maildir(path: "/tmp/maildir", junk: false))
        #expect(config.rules[0].conditions == fromAnyForLocal)
    }

    @Test func newSyntaxVersionMeansTheSame() throws {
        let old = try SMTPConfiguration.load(path: Self.confDirectory + "/smtpd.conf")
        let new = try SMTPConfiguration.load(path: Self.confDirectory + "/smtpd-new.conf")
        #expect(old.listeners.map(\.target) == new.listeners.map(\.target))
        #expect(old.listeners.map(\.port) == new.listeners.map(\.port))
        #expect(old.actions.map(\.method) == new.actions.map(\.method))
        #expect(old.rules.map(\.conditions) == new.rules.map(\.conditions))
        #expect(new.actions.map(\.name) == ["local"])
    }

    @Test func localDevelopmentConfig() throws {
        let config = try SMTPConfiguration.load(path: Self.confDirectory + "/smtpd-local.conf")
        #expect(config.listeners.map(\.target) == [.interface("localhost")])
        #expect(config.listeners[0].port == 2525)
        let action = try #require(config.actions.first)
        #expect(action.method == .maildir(path: "maildir", junk: false))
        #expect(action.virtual == .inline(.mapping([KeyValue("@", "nobody")])))
        #expect(
            config.rules.map(\.conditions) == [[MatchCondition(.fromAny), MatchCondition(.forAny)]])
        #expect(config.rules[0].decision == .action(action.name))
    }
}
