import Foundation
import SMTPClient
import SMTPConfig
import MailLabTesting
import Testing

@testable import SMTPServer

/// The conversation scripts shipped in conf/chat/ hold against our own server.
private let chatDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("conf/chat").path

private func runScript(_ name: String, against server: MailServer) throws -> ChatOutcome {
    let text = try String(contentsOfFile: chatDirectory + "/" + name, encoding: .utf8)
    let script = try ChatScriptParser.parse(text, name: name)
    return ChatRunner.run(
        script, options: ChatOptions(host: "127.0.0.1", port: server.addresses[0].port))
}

private func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "maillab-chat-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Test(
    .mailServer(store: .temporaryMaildir),
    arguments: ["seed.chat", "bad-sender.chat", "pipelined.chat", "header-rule.chat"])
func shippedScriptPassesAgainstTheDefaultServer(name: String) throws {
    let server = try #require(MailServer.current)
    let outcome = try runScript(name, against: server)
    #expect(outcome.failure == nil, "\(outcome.transcript.joined(separator: "\n"))")
}

@Test func relayScriptPassesAgainstTheSeedConfiguration() throws {
    let box = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: box) }
    let configuration = try SMTPConfiguration.parse(
        """
        listen on 127.0.0.1 port \(try freePort())
        accept from any for local deliver to maildir "\(box)"
        """, fileName: "seed.conf", includeLoader: { _ in "" })
    let server = try MailServer(configuration: configuration)
    try server.start()
    defer { server.stop() }
    let outcome = try runScript("relay.chat", against: server)
    #expect(outcome.failure == nil, "\(outcome.transcript.joined(separator: "\n"))")
}

@Test(.mailServer) func aBrokenExpectationIsReportedWithItsLine() throws {
    let server = try #require(MailServer.current)
    let script = try ChatScriptParser.parse(
        """
        connect
        expect 220 *
        send HELO x
        expect 554 5.7.1 *
        """, name: "wrong.chat")
    let outcome = ChatRunner.run(
        script, options: ChatOptions(host: "127.0.0.1", port: server.addresses[0].port))
    #expect(outcome.failure?.line == 4)
    #expect(outcome.failure?.got.hasPrefix("250 ") == true)
}

@Test(.mailServer(configure: { $0.authentication = .acceptAny() }))
func authAndBdatScriptPassesAgainstAnAcceptAnyServer() async throws {
    let server = try #require(MailServer.current)
    let outcome = try runScript("auth-bdat.chat", against: server)
    #expect(outcome.failure == nil, "\(outcome.transcript.joined(separator: "\n"))")
    let message = try await server.nextMessage(timeout: 5)
    #expect(message.authenticatedUser == "tester")
    #expect(message.text.hasSuffix("\n\nfirst chunk\nsecond chunk\n"))
    #expect(message.text.contains("\nSubject: two chunks\n"))
}

@Test func authAndBdatStepsBecomeTheirBytes() throws {
    let script = try ChatScriptParser.parse(
        """
        auth plain u p
        bdat last <<X
        a
        X
        """, name: "steps.chat")
    #expect(
        script.steps.map(\.action) == [
            .send(Array("AUTH PLAIN AHUAcA==\r\n".utf8)), .send(Array("BDAT 3 LAST\r\na\r\n".utf8)),
        ])
    #expect(throws: ChatScriptErrors.self) {
        try ChatScriptParser.parse("pipeline\nauth login u p\nend\n", name: "bad.chat")
    }
    #expect(throws: ChatScriptErrors.self) {
        try ChatScriptParser.parse("auth cram-md5 u p\n", name: "bad.chat")
    }
}
