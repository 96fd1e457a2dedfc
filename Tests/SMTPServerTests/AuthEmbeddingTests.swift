import Foundation
import SMTPProtocol
import MailLabTesting
import Testing

@testable import SMTPServer

@Suite("AUTH in the embedding API and the credential checks")
struct AuthEmbeddingTests {
    @Test(
        "acceptAny (test-server mode): any user name and password, the name is recorded",
        .mailServer(configure: { $0.authentication = .acceptAny() }))
    func acceptAnyRecordsUser() async throws {
        let server = try #require(MailServer.current)
        let script = """
            import smtplib, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
            s.login('whoever@example.com', 'anything at all')
            s.sendmail('a@example.com', ['x@example.org'], 'Subject: any\\r\\n\\r\\nbody\\r\\n')
            s.quit()
            """
        let result = try runTool(python, ["-c", script, "\(server.port)"])
        #expect(result.status == 0, "\(result.errors)")
        let message = try await server.nextMessage(timeout: 10)
        #expect(message.authenticatedUser == "whoever@example.com")
        #expect(message.text.contains(") with ESMTPA id "))
    }

    @Test("without authentication configured, AUTH stays 503 and nothing is recorded", .mailServer)
    func noAuthentication() async throws {
        let server = try #require(MailServer.current)
        let script = """
            import smtplib, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
            s.ehlo()
            print(s.has_extn('auth'), s.docmd('AUTH', 'PLAIN AGEAYg=='))
            s.sendmail('a@example.com', ['x@example.org'], 'Subject: no\\r\\n\\r\\nbody\\r\\n')
            s.quit()
            """
        let result = try runTool(python, ["-c", script, "\(server.port)"])
        #expect(
            result.output
                == "False (503, b'5.5.1 Invalid command: Command not supported')\n",
            "\(result.errors)")
        #expect(try await server.nextMessage(timeout: 10).authenticatedUser == nil)
    }

    @Test("crypt(3): bcrypt and SHA-512 hashes match their password only")
    func passwordHashes() throws {
        for method in PasswordHash.Method.allCases {
            let hash = try PasswordHash.make("pässword", method: method)
            #expect(hash.hasPrefix(method.rawValue))
            #expect(PasswordHash.matches(Array("pässword".utf8), hash: hash) == true)
            #expect(PasswordHash.matches(Array("password".utf8), hash: hash) == false)
            #expect(PasswordHash.matches(Array("pässword\0x".utf8), hash: hash) == false)
        }
        #expect(PasswordHash.matches(Array("x".utf8), hash: "not a hash") == nil)
        #expect(PasswordHash.matches(Array("x".utf8), hash: "") == nil)
    }

    @Test("a credentials table: the right user and password only, a bad hash is refused")
    func credentialTable() throws {
        let table = CredentialTable(hashes: [
            "Alice": try PasswordHash.make("s3cret", method: .sha512), "broken": "plain-text",
        ])
        func check(_ user: String, _ password: String) -> SMTPSession.AuthenticationResult {
            table.check(
                AuthenticationRequest(
                    mechanism: "PLAIN", user: Array(user.utf8), password: Array(password.utf8)))
        }
        #expect(check("alice", "s3cret") == .accepted)
        #expect(check("alice", "s3cre") == .rejected)
        #expect(check("bob", "s3cret") == .rejected)
        #expect(check("broken", "plain-text") == .rejected)
    }

    @Test("system users: an unknown user and a wrong password are refused")
    func systemUsers() {
        let system = SystemCredentials()
        let unknown = AuthenticationRequest(
            mechanism: "LOGIN", user: Array("no-such-user-\(getpid())".utf8),
            password: Array("x".utf8))
        #expect(system.check(unknown) == .rejected)
        let root = AuthenticationRequest(
            mechanism: "LOGIN", user: Array("root".utf8),
            password: Array(
                "certainly not root's password \(UInt64.random(in: 0...UInt64.max))".utf8))
        #expect(system.check(root) == .rejected)
    }
}
