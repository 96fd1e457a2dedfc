import Foundation
import Testing

@testable import SMTPServer

/// `mlab send --auth --smtputf8 --bdat` against the embedded server.
@Suite struct MLabSendExtensionTests {
    static let mlab = (smtpdPath as NSString).deletingLastPathComponent + "/mlab"

    private func server(_ configure: (inout MailServer.Options) -> Void = { _ in }) throws
        -> MailServer
    {
        var options = MailServer.Options()
        options.authentication = .acceptAny()
        configure(&options)
        let server = try MailServer.inMemory(options: options)
        try server.start()
        return server
    }

    @Test("--auth, --smtputf8 and --bdat together: AUTH PLAIN, SMTPUTF8, BDAT chunks, delivered")
    func allTogether() async throws {
        let server = try server()
        defer { server.stop() }
        let result = try runTool(
            Self.mlab,
            [
                "send", "--port", "\(server.port)", "--from", "jürgen@bücher.example", "--to",
                "δοκιμή@παράδειγμα.δοκιμή", "--auth", "tester:secret", "--smtputf8", "--bdat", "40",
                "--body", "line one\\nline two\\n.dot line", "--ehlo", "client.example",
            ])
        #expect(result.status == 0, "\(result.output)\(result.errors)")
        #expect(result.output.contains(" -> AUTH PLAIN AHRlc3RlcgBzZWNyZXQ="), "\(result.output)")
        #expect(result.output.contains("<-  235 2.0.0 Authentication succeeded"))
        #expect(result.output.contains(" -> MAIL FROM:<jürgen@bücher.example> SMTPUTF8"))
        #expect(result.output.contains(" -> BDAT 40\n"))
        #expect(result.output.contains("LAST"))
        let message = try await server.nextMessage(timeout: 10)
        #expect(message.authenticatedUser == "tester")
        #expect(message.recipients == ["δοκιμή@παράδειγμα.δοκιμή"])
        #expect(message.text.contains(") with UTF8SMTPA id "))
        #expect(message.text.hasSuffix("line one\nline two\n.dot line\n"))
    }

    @Test("each is refused with a clear word when the server does not offer it")
    func notOffered() throws {
        let server = try server {
            $0.authentication = nil
            $0.smtputf8 = false
            $0.chunking = false
        }
        defer { server.stop() }
        let base = ["send", "--port", "\(server.port)", "--to", "root@localhost"]
        for (extra, status, text) in [
            (["--auth", "u:p"], Int32(28), "*** Server does not offer AUTH PLAIN"),
            (["--smtputf8"], 23, "*** Server does not offer SMTPUTF8"),
            (["--bdat", "100"], 25, "*** Server does not offer CHUNKING"),
        ] {
            let result = try runTool(Self.mlab, base + extra)
            #expect(result.status == status, "\(extra): \(result.output)")
            #expect(result.output.contains(text), "\(result.output)")
        }
        #expect(server.messages.isEmpty)
    }
}
