import SMTPClient
import Testing

@Suite struct ChatScriptParserTests {
    @Test func everyCommandParses() throws {
        let script = try ChatScriptParser.parse(
            """
            # comment
            connect 10.0.0.2 25 netns defaultNS

            timeout 2.5
            expect 220 * ESMTP *
            send HELO defaultNS
            send-raw "EHLO x\\r\\n\\x00\\"q\\""
            body <<END
            .dot
            END
            pipeline
            send RSET
            expect 250 2.0.0 Reset state
            expect close
            end
            expect 5xx 5.x.x
            sleep 0.1
            close
            """, name: "t.chat")
        #expect(script.name == "t.chat")
        #expect(
            script.steps == [
                ChatStep(
                    line: 2, action: .connect(host: "10.0.0.2", port: 25, namespace: "defaultNS")),
                ChatStep(line: 4, action: .timeout(2.5)),
                ChatStep(
                    line: 5, action: .expect(ReplyExpectation(code: "220", pattern: "* ESMTP *"))),
                ChatStep(line: 6, action: .send(Array("HELO defaultNS\r\n".utf8))),
                ChatStep(line: 7, action: .send(Array("EHLO x\r\n\0\"q\"".utf8))),
                ChatStep(line: 8, action: .send(Array("..dot\r\n.\r\n".utf8))),
                ChatStep(
                    line: 11,
                    action: .pipeline([
                        ChatStep(line: 12, action: .send(Array("RSET\r\n".utf8))),
                        ChatStep(
                            line: 13,
                            action: .expect(
                                ReplyExpectation(
                                    code: "250", enhancedCode: "2.0.0", pattern: "Reset state"))),
                        ChatStep(line: 14, action: .expectClose),
                    ])),
                ChatStep(
                    line: 16, action: .expect(ReplyExpectation(code: "5xx", enhancedCode: "5.x.x"))),
                ChatStep(line: 17, action: .sleep(0.1)),
                ChatStep(line: 18, action: .close),
            ])
    }

    @Test func connectDefaultsAreNil() throws {
        let script = try ChatScriptParser.parse("connect\nconnect ::1\nconnect 2525", name: "c")
        #expect(
            script.steps.map(\.action) == [
                .connect(host: nil, port: nil, namespace: nil),
                .connect(host: "::1", port: nil, namespace: nil),
                .connect(host: nil, port: 2525, namespace: nil),
            ])
    }

    @Test func allErrorsAreCollectedWithTheirLines() {
        let text = """
            connect
            frobnicate
            expect banana
            timeout -1
            send-raw no quotes
            pipeline
            expect 250
            send NOOP
            end
            end
            body <<EOF
            never ended
            """
        let thrown = #expect(throws: ChatScriptErrors.self) {
            try ChatScriptParser.parse(text, name: "bad.chat")
        }
        let lines = thrown?.errors.map(\.line) ?? []
        #expect(lines == [2, 3, 4, 5, 8, 10, 11])
        #expect(
            thrown?.errors.first?.description.hasPrefix(
                "bad.chat:2: unknown command \"frobnicate\"") == true)
        #expect(thrown?.errors.last?.message == "body <<EOF is never ended by a line \"EOF\"")
    }

    @Test func unterminatedPipelineIsReportedAtItsStart() {
        let thrown = #expect(throws: ChatScriptErrors.self) {
            try ChatScriptParser.parse("connect\npipeline\nsend NOOP\n", name: "p")
        }
        #expect(thrown?.errors.map(\.description) == ["p:2: pipeline is never ended by \"end\""])
    }

    @Test(arguments: ["\"\\x4\"", "\"\\q\"", "\"abc\\\"", "\"\\x\""])
    func badEscapesAreErrors(_ raw: String) {
        #expect(throws: ChatScriptErrors.self) {
            try ChatScriptParser.parse("send-raw \(raw)", name: "e")
        }
    }

    @Test func crlfScriptsParseLikeLF() throws {
        let lf = try ChatScriptParser.parse("connect\nsend QUIT\nexpect 221\n", name: "x")
        let crlf = try ChatScriptParser.parse("connect\r\nsend QUIT\r\nexpect 221\r\n", name: "x")
        #expect(lf == crlf)
    }

    /// Hostile scripts: random lines never crash the parser.
    @Test func fuzzRandomScripts() {
        var generator = SeededGenerator(seed: 42)
        let words = [
            "connect", "send", "send-raw", "body", "<<E", "E", "expect", "250", "5.1.0", "close",
            "pipeline", "end", "timeout", "sleep", "\"\\x", "\"", "#", "netns", "65536", "x",
        ]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                    words.randomElement(using: &generator)!
                }.joined(separator: " ")
            }.joined(separator: "\n")
            do {
                let script = try ChatScriptParser.parse(text, name: "f")
                #expect(script.steps.allSatisfy { $0.line >= 1 })
            } catch {
                #expect(!error.errors.isEmpty)
            }
        }
    }
}

@Suite struct ReplyExpectationTests {
    let relay = SMTPReply(code: 550, lines: ["Invalid recipient: <x@example.com>"])
    let ehlo = SMTPReply(
        code: 250, lines: ["vm Hello x [127.0.0.1], pleased to meet you", "PIPELINING", "HELP"])

    func expectation(_ text: String) throws -> ReplyExpectation {
        try #require(ReplyExpectation(parsing: text[...]))
    }

    @Test func codeEnhancedCodeAndGlob() throws {
        #expect(try expectation("550 Invalid recipient: <x@example.com>").mismatch(relay) == nil)
        #expect(try expectation("5xx").mismatch(relay) == nil)
        #expect(try expectation("250").mismatch(relay) == "code")
        #expect(try expectation("550 5.1.1").mismatch(relay) == "enhanced status code")
        #expect(try expectation("550 Invalid*<y@*").mismatch(relay) == "text")
        let syntax = SMTPReply(code: 553, lines: ["5.1.0 Sender address syntax error"])
        #expect(try expectation("553 5.1.0 Sender address syntax error").mismatch(syntax) == nil)
        #expect(try expectation("553 5.x.x Sender*").mismatch(syntax) == nil)
        #expect(try expectation("553 Sender address syntax error").mismatch(syntax) == nil)
        #expect(try expectation("553 5.1.1").mismatch(syntax) == "enhanced status code")
    }

    @Test func multiLinePatternHoldsOnAnyLine() throws {
        #expect(try expectation("250 PIPELINING").mismatch(ehlo) == nil)
        #expect(try expectation("250 * Hello x \\[127.0.0.1\\]*").mismatch(ehlo) == nil)
        #expect(try expectation("250 STARTTLS").mismatch(ehlo) == "text")
    }

    @Test(arguments: ["", "25", "2500", "abc", "650", "close"])
    func notACode(_ text: String) {
        #expect(ReplyExpectation(parsing: text[...]) == nil)
    }
}
