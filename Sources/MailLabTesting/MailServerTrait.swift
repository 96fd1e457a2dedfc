import LinuxSystem
import SMTPConfig
public import SMTPServer
public import Testing

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
/// Or with smtpd.conf text (`.mailServer(config:)`), where `@MAILDIR@` names the test's
/// temporary Maildir. On a suite, every test of the suite gets a server of its own.
public struct MailServerTrait: TestTrait, SuiteTrait, TestScoping {
    /// Where the server keeps messages.
    public enum Store: Sendable {
        /// In memory only (`MailServer.inMemory`): nothing touches the disk. With `config:`,
        /// the configuration's actions store nothing either (`Options.inMemory`).
        case memory
        /// Maildir files in a fresh temporary directory, removed after the test
        /// (`MailServer.catchAll`; with `config:`, the Maildirs the configuration names).
        case temporaryMaildir
    }

    /// smtpd.conf text and where the trait was written (where its errors are reported).
    struct ConfigText: Sendable {
        var text: String
        var sourceLocation: Testing.SourceLocation
    }

    /// The placeholder in `config:` text for the test's temporary Maildir: a path inside a
    /// directory of its own, removed after the test with everything beside it
    /// (`"@MAILDIR@.spool"` for a queue directory is removed too).
    public static let maildirPlaceholder = "@MAILDIR@"

    /// The name the configuration has in its errors (`smtpd.conf:3: …`).
    public static let configFileName = "smtpd.conf"

    let store: Store
    var config: ConfigText?
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
        let log = MemoryLog()
        // A directory only when something goes to disk: an in-memory server touches none.
        let folder =
            config != nil || store == .temporaryMaildir || transcripts
            ? try TemporaryDirectory() : nil
        defer { folder?.remove() }
        let maildir = folder.map { $0.path + "/Maildir" }
        var options = MailServer.Options()
        options.loops = 1
        if transcripts, let folder {
            let transcriptFolder = folder.path + "/transcripts"
            try FileSystem.mkdir(transcriptFolder, mode: 0o700)
            options.transcripts = TranscriptSettings(directory: transcriptFolder)
        }
        configure(&options)
        // The test reads every line, wherever else `configure` sends them.
        let ownSink = options.log
        options.log = LogSink(lines: { lines in
            ownSink.writeLines(lines)
            log.sink.writeLines(lines)
        })
        let server: MailServer
        switch (config, maildir) {
        case (let config?, let maildir?):
            // Errors of the configuration are the test's failures at the trait, each with
            // its line; the body does not run without its server.
            guard
                let configured = Self.server(config, maildir: maildir, store: store, options)
            else { return }
            server = configured
        case (nil, let maildir?) where store == .temporaryMaildir:
            server = try MailServer.catchAll(maildir: maildir, options: options)
        default:
            server = try MailServer.inMemory(options: options)
        }
        defer { server.stop(graceSeconds: 5) }
        do {
            try server.start()  // returns once every listener is bound
        } catch {
            guard let config else { throw error }
            Self.report(error.errors.map(\.description), at: config.sourceLocation)
            return
        }
        let storedHere = config != nil || store == .temporaryMaildir
        try await MailServer.$current.withValue(server) {
            try await MailServer.$currentMaildir.withValue(storedHere ? maildir : nil) {
                try await MailServer.$currentLog.withValue(log) { try await function() }
            }
        }
    }

    /// The server for `config`, or nil after reporting every error of the configuration
    /// (`smtpd.conf:LINE: …`) as an issue of the test at the trait.
    private static func server(
        _ config: ConfigText, maildir: String, store: Store, _ options: MailServer.Options
    ) -> MailServer? {
        var options = options
        if store == .memory { options.inMemory = true }
        do {
            let configuration = try localConfiguration(config.text, maildir: maildir)
            return try MailServer(configuration: configuration, options: options)
        } catch let errors as ConfigErrors {
            report(errors.errors.map(\.description), at: config.sourceLocation)
        } catch let errors as ServerErrors {
            report(errors.errors.map(\.description), at: config.sourceLocation)
        } catch {
            report(["\(error)"], at: config.sourceLocation)
        }
        return nil
    }

    /// `text` parsed as smtpd.conf with the placeholder replaced and every listener on a
    /// free port of 127.0.0.1; a listener elsewhere is an error at its line (a test's server
    /// must not be reachable from outside, nor take a port another test needs).
    static func localConfiguration(_ text: String, maildir: String) throws(ConfigErrors)
        -> SMTPConfiguration
    {
        var configuration = try SMTPConfiguration.parse(
            text.replacing(maildirPlaceholder, with: maildir),
            fileName: configFileName
        ) { path throws(SystemError) in
            String(
                decoding: try FileSystem.readFile(path, limit: 16 << 20, regularOnly: true),
                as: UTF8.self)
        }
        var errors: [ConfigError] = []
        if configuration.listeners.isEmpty {
            errors.append(
                ConfigError(
                    location: SMTPConfig.SourceLocation(file: configFileName, line: 0),
                    message: "no listen on 127.0.0.1: the test's server would not listen"))
        }
        for index in configuration.listeners.indices {
            let listener = configuration.listeners[index]
            guard listener.target == ListenTarget.address("127.0.0.1") else {
                errors.append(
                    ConfigError(
                        location: listener.location,
                        message: "a test's server listens on 127.0.0.1 only"))
                continue
            }
            configuration.listeners[index].port = 0
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return configuration
    }

    private static func report(_ lines: [String], at location: Testing.SourceLocation) {
        for line in lines { Issue.record(Comment(rawValue: line), sourceLocation: location) }
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

    /// A server per test configured by smtpd.conf text (`listen on 127.0.0.1`, actions,
    /// matches, tables, limits, `fault` statements), parsed as `smtpd` parses its file.
    /// `@MAILDIR@` is the test's temporary Maildir (`MailServer.currentMaildir`); every
    /// listener gets a free port, and must be on 127.0.0.1. A configuration with errors
    /// fails the test with each `smtpd.conf:LINE: message`, reported at the trait, and the
    /// body does not run. `store: .memory` keeps the actions' messages in memory only;
    /// `transcripts` and `configure` as in `mailServer(store:transcripts:configure:)`
    /// (the file's own statements win over `configure`'s limits, timeouts and faults).
    public static func mailServer(
        config: String, store: MailServerTrait.Store = .temporaryMaildir,
        transcripts: Bool = false,
        configure: @escaping @Sendable (inout MailServer.Options) -> Void = { _ in },
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line,
        column: Int = #column
    ) -> Self {
        var trait = MailServerTrait(store: store, configure: configure)
        trait.config = MailServerTrait.ConfigText(
            text: config,
            sourceLocation: Testing.SourceLocation(
                fileID: fileID, filePath: filePath, line: line, column: column))
        trait.transcripts = transcripts
        return trait
    }
}
