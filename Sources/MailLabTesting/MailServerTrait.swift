public import SMTPServer
public import Testing
import SMTPConfig

/// A Swift Testing trait that gives each test its own SMTP server: started on a free port of
/// 127.0.0.1 before the test body runs, stopped after it (also when it fails), reachable
/// inside the test as `MailServer.current`.
///
/// ```swift
/// @Test(.mailServer) func sendsTheWelcomeMail() async throws {
///     let server = try #require(MailServer.current)
///     try await signUp(smtpPort: server.port)
///     let message = try await server.nextMessage(matching: { $0.subject == "Welcome" })
///     #expect(message.recipients == ["new@user.example"])
/// }
/// ```
///
/// On a suite, every test of the suite gets a server of its own.
public struct MailServerTrait: TestTrait, SuiteTrait, TestScoping {
    /// Where the server keeps messages.
    public enum Store: Sendable {
        /// In memory only (`MailServer.inMemory`): nothing touches the disk.
        case memory
        /// Maildir files in a fresh temporary directory, removed after the test
        /// (`MailServer.catchAll`): for tests that look at the files.
        case temporaryMaildir
    }

    let store: Store
    /// Session transcripts into a temporary directory (removed after the test).
    var transcripts = false
    let configure: @Sendable (inout MailServer.Options) -> Void

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // A suite's own scope only passes through: each test (or test case) gets its server.
        guard testCase != nil || !test.isSuite else {
            try await function()
            return
        }
        var options = MailServer.Options()
        options.loops = 1
        let transcriptFolder = transcripts ? try TemporaryDirectory() : nil
        if let transcriptFolder {
            options.transcripts = TranscriptSettings(directory: transcriptFolder.path)
        }
        configure(&options)
        let directory: TemporaryDirectory?
        let server: MailServer
        do {
            switch store {
            case .memory:
                directory = nil
                server = try MailServer.inMemory(options: options)
            case .temporaryMaildir:
                let made = try TemporaryDirectory()
                directory = made
                do {
                    server = try MailServer.catchAll(
                        maildir: made.path + "/Maildir", options: options)
                } catch {
                    made.remove()
                    throw error
                }
            }
        } catch {
            transcriptFolder?.remove()
            throw error
        }
        defer {
            server.stop(graceSeconds: 5)
            directory?.remove()
            transcriptFolder?.remove()
        }
        try server.start()  // returns once every listener is bound
        try await MailServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == MailServerTrait {
    /// A server per test, keeping messages in memory.
    public static var mailServer: Self { mailServer() }

    /// A server per test: `store` says where messages go, `transcripts` writes session
    /// transcripts to a temporary directory (`server.transcripts(count:timeout:)`),
    /// `configure` adjusts the options (TLS, limits, the server name, a log sink, faults).
    public static func mailServer(
        store: MailServerTrait.Store = .memory, transcripts: Bool = false,
        configure: @escaping @Sendable (inout MailServer.Options) -> Void = { _ in }
    ) -> Self {
        var trait = MailServerTrait(store: store, configure: configure)
        trait.transcripts = transcripts
        return trait
    }
}
