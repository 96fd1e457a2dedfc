public import MailMessage
public import SMTPServer

extension DeliveredMessage {
    /// The message parsed for reading: headers (unfolded, RFC 2047 decoded), MIME parts.
    public var parsed: MailMessage { MailMessage(bytes: content) }

    /// The decoded value of the first header field `name` (case-insensitive), nil if absent.
    public func header(_ name: String) -> String? { parsed.header[name] }

    /// The decoded Subject, empty when missing.
    public var subject: String { parsed.subject }
}

extension MailServer {
    /// The server of the test running now, under the `.mailServer` trait; nil elsewhere.
    @TaskLocal public static var current: MailServer?

    /// The running test's temporary Maildir under the trait: `@MAILDIR@` of
    /// `.mailServer(config:)`, the catch-all's Maildir with `store: .temporaryMaildir`; nil
    /// for an in-memory catch-all and outside the trait. Removed after the test.
    @TaskLocal public static var currentMaildir: String?

    /// Every line the running test's server has logged so far (`-d` style, with `verbose`
    /// or `trace` more), whatever sink `configure` set besides; nil outside the trait.
    @TaskLocal public static var currentLog: MemoryLog?

    /// The port of the first listener (the trait's servers listen on 127.0.0.1 only).
    public var port: UInt16 { addresses.first?.port ?? 0 }
}
