import Foundation
import Testing

@testable import SMTPServer

/// Per-listener profiles through the real smtpd: each extension a listener switches off is
/// neither advertised nor accepted, and the others stay on.
@Suite final class ListenerProfileTests {
    let directory: TempDir
    init() throws { directory = try TempDir("profile") }
    deinit { directory.remove() }

    /// EHLO's keywords and the replies to `probes` (one line each, in one session).
    private func converse(_ options: String, _ probes: [String]) throws -> (
        ehlo: [String], replies: [String]
    ) {
        let server = try SmtpdProcess(
            config: """
                listen on 127.0.0.1 port @PORT@ \(options)
                action "local" maildir "\(directory.path)/Maildir"
                match from any for local action "local"

                """, directory: directory)
        defer { server.stop() }
        let client = try LineClient(host: "127.0.0.1", port: server.port, timeout: 5)
        _ = try client.readReply()
        try client.send("EHLO x\r\n")
        let ehlo = try client.readReply().map {
            $0.dropFirst(4).replacingOccurrences(of: "\r\n", with: "")
        }
        var replies: [String] = []
        for probe in probes {
            try client.send(probe)
            replies.append(
                (try client.readReply().last ?? "").replacingOccurrences(of: "\r\n", with: ""))
        }
        return (ehlo, replies)
    }

    private let probes = [
        "MAIL FROM:<a@b> RET=HDRS\r\n", "RSET\r\n", "MAIL FROM:<a@b> SMTPUTF8\r\n", "RSET\r\n",
        "MAIL FROM:<ü@b> SMTPUTF8\r\n", "RSET\r\n", "MAIL FROM:<a@b> BODY=BINARYMIME\r\n",
        "RSET\r\n",
        // With CHUNKING its one byte is read, then refused (no transaction).
        "BDAT 1 LAST\r\nx", "MAIL FROM:<a@b> BODY=8BITMIME\r\n", "RSET\r\n",
    ]

    @Test("default listener: DSN, SMTPUTF8, CHUNKING, BINARYMIME offered and accepted")
    func allOn() throws {
        let (ehlo, replies) = try converse("", probes)
        for keyword in ["8BITMIME", "DSN", "PIPELINING", "CHUNKING", "BINARYMIME", "SMTPUTF8"] {
            #expect(ehlo.contains(keyword), "\(ehlo)")
        }
        #expect(replies[0] == "250 2.0.0 Ok")
        #expect(replies[2] == "250 2.0.0 Ok")
        #expect(replies[4] == "250 2.0.0 Ok")
        #expect(replies[6] == "250 2.0.0 Ok")
        #expect(replies[8] == "503 5.5.1 Invalid command: Command not allowed at this point.")
        #expect(replies[9] == "250 2.0.0 Ok")
    }

    @Test(
        "each switch turns off its extension only",
        arguments: [
            (
                "no-dsn", "DSN", 0,
                "503 5.5.4 Invalid command arguments: Unsupported option RET=HDRS"
            ),
            (
                "no-smtputf8", "SMTPUTF8", 2,
                "503 5.5.4 Invalid command arguments: Unsupported option SMTPUTF8"
            ),
            ("no-smtputf8", "SMTPUTF8", 4, "553 5.1.0 Sender address syntax error"),
            (
                "no-chunking", "CHUNKING", 6,
                "503 5.5.4 Invalid command arguments: Unsupported option BODY=BINARYMIME"
            ),
            (
                "no-8bitmime", "8BITMIME", 9,
                "503 5.5.4 Invalid command arguments: Unsupported option BODY=8BITMIME"
            ),
            // Not advertised; pipelined commands are still answered (see ConfigListen).
            ("no-pipelining", "PIPELINING", 1, "250 2.0.0 Reset state"),
            ("no-chunking", "BINARYMIME", 8, "500 5.5.1 Invalid command: Command unrecognized"),
        ])
    func oneOff(_ option: String, _ keyword: String, _ probe: Int, _ refusal: String) throws {
        let (ehlo, replies) = try converse(option, probes)
        #expect(!ehlo.contains(keyword), "\(ehlo)")
        #expect(replies[probe] == refusal)
        let others = ["8BITMIME", "DSN", "SMTPUTF8", "CHUNKING", "PIPELINING"].filter {
            !(option == "no-chunking" && $0 == "CHUNKING") && $0 != keyword
        }
        for other in others { #expect(ehlo.contains(other), "\(ehlo)") }
    }
}
