import Testing

@testable import SMTPConfig

@Suite struct LexicalTests {
    @Test func commentsAndBlankLines() throws {
        let config = try parse(
            """
            # a comment
              
            listen on lo # trailing comment
            \t# indented comment
            match for any reject # done
            """)
        #expect(config.listeners.count == 1)
        #expect(config.rules[0].location.line == 5)
    }

    @Test func continuationLinesReportTheirFirstLine() throws {
        let config = try parse(
            """
            listen on lo \\
                port 2525 \\
                hostname mail.example.org
            match from any \\
                for any reject
            """)
        #expect(config.listeners[0].port == 2525)
        #expect(config.listeners[0].hostname == "mail.example.org")
        #expect(config.listeners[0].location.line == 1)
        #expect(config.rules[0].location.line == 4)
        #expect(
            errors("listen on lo \\\n    port 99999\nmatch for any reject")
                == ["smtpd.conf:1: invalid port: 99999 (must be 1-65535)"])
    }

    @Test func continuationInsideACommentContinuesTheComment() throws {
        // As OpenSMTPD: lines are joined before comments are seen.
        let config = try parse("# comment \\\nlisten on lo\nmatch for any reject")
        #expect(config.listeners.isEmpty)
    }

    @Test func crlfLineEnds() throws {
        let config = try parse("listen on lo port 25\r\nmatch for any reject\r\n")
        #expect(config.listeners[0].port == 25)
        #expect(config.rules.count == 1)
    }

    @Test func inlineTablesSpanLines() throws {
        let config = try parse(
            """
            table users {
                alice,
                bob
                "carol@example.org" }
            table map { a = b
              c => d,
            }
            action a maildir virtual {
                "@" = "nobody"
            }
            match from src { 10.0.0.1,
                             10.0.0.2 } for any action a
            """)
        #expect(config.tables["users"] == .list(["alice", "bob", "carol@example.org"]))
        #expect(config.tables["map"] == .mapping([KeyValue("a", "b"), KeyValue("c", "d")]))
        #expect(config.actions[0].virtual == .inline(.mapping([KeyValue("@", "nobody")])))
        #expect(config.actions[0].location.line == 8)
        #expect(
            config.rules[0].conditions[0]
                == MatchCondition(.fromSource(.inline(.list(["10.0.0.1", "10.0.0.2"])))))
        #expect(config.rules[0].location.line == 11)
    }

    @Test func macros() throws {
        let config = try parse(
            """
            pnum = "2525"
            iface = "lo"
            dir = "/tmp/maildir"
            listen on $iface port $pnum
            action "local" maildir "$dir"
            match from any for any action "local"
            """)
        #expect(config.listeners[0].target == .interface("lo"))
        // A macro value is text: "2525" is read again and becomes a number.
        #expect(config.listeners[0].port == 2525)
        // Not expanded inside quotes.
        #expect(config.actions[0].method == .maildir(path: "$dir", junk: false))
        #expect(config.macros["iface"] == "lo")
    }

    @Test func macroTextJoinsTheFollowingCharacters() throws {
        let config = try parse("d = \"example\"\nmatch for domain $d.org reject")
        #expect(
            config.rules[0].conditions[1]
                == MatchCondition(.forDomain(.inline(.list(["example.org"])))))
    }

    @Test func commandLineMacrosOverrideTheFile() throws {
        let text = "p = \"25\"\nlisten on lo port $p\nmatch for any reject"
        #expect(try parse(text).listeners[0].port == 25)
        let config = try parse(text, macros: ["p": "2525"])
        #expect(config.listeners[0].port == 2525)
        #expect(config.macros["p"] == "2525")
        #expect(
            try parse("listen on $i\nmatch for any reject", macros: ["i": "eth0"]).listeners[0]
                .target == .interface("eth0"))
    }

    @Test func macroDefinedLaterIsUnknown() {
        #expect(
            errors("listen on $i\ni = \"lo\"\nmatch for any reject")
                == ["smtpd.conf:1: macro 'i' not defined"])
    }

    @Test func quotesAndEscapes() throws {
        let config = try parse(
            """
            action a mda 'cmd "with" quotes'
            action b mda "say \\"hi\\" there"
            action c mda "a\\
            b"
            match for any action a
            """)
        #expect(
            config.actions.map(\.method) == [
                .mda(command: "cmd \"with\" quotes"), .mda(command: "say \"hi\" there"),
                .mda(command: "ab"),
            ])
        #expect(config.rules[0].location.line == 5)
    }

    @Test func numbersAndWords() throws {
        // "25" is a number, "25x" a word, a quoted "25" a string.
        let config = try parse(
            "listen on 127.0.0.1 port 25\nlisten on ::1 port 2525\nmatch for any reject")
        #expect(config.listeners.map(\.target) == [.address("127.0.0.1"), .address("::1")])
        #expect(config.maxMessageSize == 36_700_160)
    }

    @Test func lastLineWithoutNewline() throws {
        let config = try parse("listen on lo\nmatch for any reject")
        #expect(config.rules.count == 1)
    }

    @Test func sizes() {
        #expect(ConfigUnits.scaled("35M") == 36_700_160)
        #expect(ConfigUnits.scaled("35m") == 36_700_160)
        #expect(ConfigUnits.scaled("1K") == 1024)
        #expect(ConfigUnits.scaled("1.5K") == 1536)
        #expect(ConfigUnits.scaled("2G") == 2 * 1024 * 1024 * 1024)
        #expect(ConfigUnits.scaled("100") == 100)
        #expect(ConfigUnits.scaled("10B") == 10)
        #expect(ConfigUnits.scaled("M") == nil)
        #expect(ConfigUnits.scaled("10X") == nil)
        #expect(ConfigUnits.scaled("1.5") == nil)
        #expect(ConfigUnits.scaled("-1K") == nil)
        #expect(ConfigUnits.scaled("99999999999E") == nil)
    }

    @Test func delays() {
        #expect(ConfigUnits.delay("4d") == 345_600)
        #expect(ConfigUnits.delay("30s") == 30)
        #expect(ConfigUnits.delay("15m") == 900)
        #expect(ConfigUnits.delay("4h") == 14_400)
        #expect(ConfigUnits.delay("0s") == nil)
        #expect(ConfigUnits.delay("d") == nil)
        #expect(ConfigUnits.delay("4w") == nil)
        #expect(ConfigUnits.delay("99999999d") == nil)
    }

    @Test func sizeStatementsUseScaledUnits() throws {
        #expect(try parse("smtp max-message-size 35M" + anyRule).maxMessageSize == 36_700_160)
        #expect(try parse("smtp max-message-size 1048576" + anyRule).maxMessageSize == 1_048_576)
        #expect(try parse("smtp max-message-size \"2k\"" + anyRule).maxMessageSize == 2048)
        #expect(try parse("max-message-size 1G" + anyRule).maxMessageSize == 1 << 30)
    }
}
