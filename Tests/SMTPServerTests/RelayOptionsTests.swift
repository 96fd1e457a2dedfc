import Foundation
import Glibc
import MailLabTestSupport
import MailQueue
import SMTPConfig
import SMTPServer
import Synchronization
import Testing

/// The relay options OpenSMTPD 6.8 has and MailLab now carries out, on loopback: `tls`
/// with verification against a `ca` (a test CA made here by openssl), `mail-from`, `host`
/// and `domain` tables, the opportunistic TLS downgrade, an MX that is this server, and the
/// intake log of relayed recipients.
@Suite struct RelayOptionsTests {
    /// A throw-away CA and the certificates it (or nobody) signs, made by openssl.
    final class TestCA {
        let directory: TempDir
        var certificate: String { directory.path + "/ca.pem" }

        init() throws {
            directory = try TempDir("relay-ca")
            try Self.openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-subj", "/CN=MailLab test CA", "-days", "1",
                "-keyout", directory.path + "/ca.key", "-out", certificate,
            ])
        }

        /// A next-hop certificate for `subjectAltName` (`IP:127.0.0.1`); signed by this CA,
        /// or by itself when `selfSigned`.
        func issue(_ name: String, subjectAltName: String, selfSigned: Bool = false) throws
            -> (certificate: String, key: String)
        {
            let base = directory.path + "/" + name
            let extensions = base + ".ext"
            try "subjectAltName=\(subjectAltName)\n".write(
                toFile: extensions, atomically: true, encoding: .utf8)
            if selfSigned {
                try Self.openssl([
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-subj", "/CN=\(name)", "-days", "1", "-addext",
                    "subjectAltName=\(subjectAltName)", "-keyout", base + ".key", "-out",
                    base + ".pem",
                ])
            } else {
                try Self.openssl([
                    "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", "/CN=\(name)", "-keyout", base + ".key", "-out", base + ".csr",
                ])
                try Self.openssl([
                    "x509", "-req", "-in", base + ".csr", "-CA", certificate, "-CAkey",
                    directory.path + "/ca.key", "-CAcreateserial", "-days", "1", "-extfile",
                    extensions, "-out", base + ".pem",
                ])
            }
            return (base + ".pem", base + ".key")
        }

        static func openssl(_ arguments: [String]) throws {
            let result = try runToEnd(ExternalTool.openssl.path, arguments)
            guard result.status == 0 else {
                throw TestFailure("openssl \(arguments.first ?? ""): " + result.errors)
            }
        }

        deinit { directory.remove() }
    }

    static func nextHop(certificate: String, key: String) throws -> InProcessServer {
        try InProcessServer {
            $0.tls = MailServer.TLSSetting(certificate: certificate, key: key, mode: .starttls)
        }
    }

    static func relay(to port: UInt16, ca: String, options: String = "tls ca testca")
        throws -> InProcessServer
    {
        try InProcessServer(
            config: RelayQueueTests.relayConfig(
                nextHop: port, scheme: "smtp+tls", extra: "ca testca cert \"\(ca)\"",
                options: options)
        ) { $0.relayTimeoutSeconds = 5 }
    }

    @Test func aNextHopCertificateSignedByTheConfiguredCAPassesVerification() async throws {
        let ca = try TestCA()
        let files = try ca.issue("next", subjectAltName: "IP:127.0.0.1")
        let next = try Self.nextHop(certificate: files.certificate, key: files.key)
        defer { next.stop() }
        let relay = try Self.relay(to: next.port, ca: ca.certificate)
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "verified")
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.text.contains(") with ESMTPS id "), "\(message.text)")
    }

    /// A self-signed certificate, and one of the CA for another address: both fail
    /// verification, the mail waits (a temporary failure) and the reason is in the log.
    @Test(arguments: [("self-signed", "IP:127.0.0.1", true), ("other", "IP:127.0.0.2", false)])
    func aNextHopThatFailsVerificationIsDeferredWithTheReason(
        name: String, subjectAltName: String, selfSigned: Bool
    ) throws {
        let ca = try TestCA()
        let files = try ca.issue(name, subjectAltName: subjectAltName, selfSigned: selfSigned)
        let next = try Self.nextHop(certificate: files.certificate, key: files.key)
        defer { next.stop() }
        let relay = try Self.relay(to: next.port, ca: ca.certificate)
        defer { relay.stop() }
        let control = try #require(relay.server.queueControl)
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "unverified")
        #expect(
            eventually(within: 10) {
                control.queueSnapshot().first?.lastError.contains("certificate verification:")
                    == true
            }, "\(relay.log.lines.joined(separator: "\n"))")
        let reason = control.queueSnapshot().first?.lastError ?? ""
        #expect(reason.hasPrefix("421 4.7.0 TLS handshake with 127.0.0.1 failed"), "\(reason)")
        #expect(
            selfSigned ? reason.contains("self") : reason.contains("mismatch"), "\(reason)")
        #expect(relay.log.lines.contains { $0.contains("deferred: 421 4.7.0 TLS handshake") })
        #expect(next.server.messages.isEmpty)
    }

    /// Without `tls` (verification), the same self-signed next hop is fine.
    @Test func withoutTheTLSOptionTheCertificateIsNotVerified() async throws {
        let ca = try TestCA()
        let files = try ca.issue("plain", subjectAltName: "IP:127.0.0.2", selfSigned: true)
        let next = try Self.nextHop(certificate: files.certificate, key: files.key)
        defer { next.stop() }
        let relay = try Self.relay(to: next.port, ca: ca.certificate, options: "")
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "unchecked")
        _ = try await next.server.nextMessage(timeout: 10)
    }

    /// An opportunistic STARTTLS that fails (the client offers only TLS 1.0, the next hop
    /// wants 1.2) starts over in clear, as OpenSMTPD's mta does.
    @Test func aFailedOpportunisticHandshakeIsRetriedInClear() async throws {
        let next = try RelayQueueTests.tlsNextHop(.starttls)
        defer { next.stop() }
        let relay = try InProcessServer(
            config: RelayQueueTests.relayConfig(
                nextHop: next.port, scheme: "smtp", options: "protocols \"tlsv1.0\"")
        ) { $0.relayTimeoutSeconds = 5 }
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "downgraded")
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.text.contains(") with ESMTP id "), "\(message.text)")
        #expect(relay.log.lines.contains { $0.contains("downgrading to plain") })
        #expect(!relay.log.lines.contains { $0.contains("deferred") })
    }

    @Test func mailFromRewritesTheEnvelopeSender() async throws {
        let next = try InProcessServer()
        defer { next.stop() }
        let relay = try InProcessServer(
            config: RelayQueueTests.relayConfig(
                nextHop: next.port, options: "mail-from \"@relay.lab\""))
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "rewritten")
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.sender == "alice@relay.lab")
    }

    /// `host <table>`: the first URL does not answer, the next one takes the mail.
    @Test func aHostTableFallsBackToTheNextRelay() async throws {
        let next = try InProcessServer()
        defer { next.stop() }
        let dead = try freePort()
        let relay = try InProcessServer(
            config: """
                queue directory "@MAILDIR@.spool"
                queue retry 1s 2s
                table relays { "smtp://127.0.0.1:\(dead)", "smtp://127.0.0.1:\(next.port)" }
                listen on 127.0.0.1
                action "out" relay host <relays>
                match from any for domain "there.lab" action "out"
                """
        ) { $0.relayTimeoutSeconds = 5 }
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "table")
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.text.contains("Subject: table\n"))
    }

    /// `domain <table>`: the recipient's domain picks the relay; a domain it does not name
    /// fails permanently (and bounces).
    @Test func aDomainTablePicksTheRelayByRecipientDomain() async throws {
        let next = try InProcessServer()
        defer { next.stop() }
        let relay = try InProcessServer(
            config: """
                queue directory "@MAILDIR@.spool"
                queue retry 1s 2s
                table routes { "there.lab" = "smtp://127.0.0.1:\(next.port)" }
                listen on 127.0.0.1
                action "local" maildir "@MAILDIR@" user root
                action "out" relay domain <routes>
                match from any for domain "here.lab" action "local"
                match from any for domain "there.lab" action "out"
                match from any for domain "nowhere.lab" action "out"
                """
        ) { $0.relayTimeoutSeconds = 5 }
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab",
            to: ["bob@there.lab", "carol@nowhere.lab"], subject: "by domain")
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.text.contains("Subject: by domain\n"))
        let bounces = waitForFiles(relay.maildir, count: 1, timeout: 10)
        let bounce = bounces.first.map(readText) ?? ""
        #expect(bounce.contains("no relay host for nowhere.lab"), "\(bounce)")
    }

    /// An MX that is this server itself (its own listener) is a loop: the recipient bounces
    /// instead of going round.
    @Test func anMXPointingToThisServerBouncesAsALoop() throws {
        final class SelfExchanger: MailExchangerLookup {
            let port = Mutex<UInt16>(0)
            func mailExchangers(for domain: String) throws(MailExchangerError) -> [MailExchanger] {
                [
                    MailExchanger(
                        preference: 10, host: "mx.mx.lab", addresses: ["127.0.0.1"],
                        port: port.withLock { $0 })
                ]
            }
        }
        let lookup = SelfExchanger()
        let relay = try InProcessServer(
            config: RelayQueueTests.relayConfig(nextHop: try freePort())
        ) {
            $0.relayTimeoutSeconds = 5
            $0.mailExchangers = lookup
        }
        defer { relay.stop() }
        lookup.port.withLock { $0 = relay.port }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@mx.lab"],
            subject: "loop")
        let bounces = waitForFiles(relay.maildir, count: 1, timeout: 10)
        let bounce = bounces.first.map(readText) ?? ""
        #expect(bounce.contains("5.4.6 loop: MX for mx.lab points to this host"), "\(bounce)")
        // Bounced once, not relayed to itself: only the bounce is in the Maildir.
        #expect(maildirFiles(relay.maildir).count == 1)
    }

    /// `helo-src <table>`: the EHLO name is the one the table gives the `src` address.
    @Test func heloSourceNamesTheSessionAfterItsSourceAddress() async throws {
        let next = try InProcessServer()
        defer { next.stop() }
        let relay = try InProcessServer(
            config: RelayQueueTests.relayConfig(
                nextHop: next.port,
                extra: """
                    table sources { "127.0.0.1" }
                    table names { "127.0.0.1" = "named.relay.lab" }
                    """, options: "src <sources> helo-src <names>")
        ) { $0.relayTimeoutSeconds = 5 }
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "named")
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.text.contains("Received: from named.relay.lab "), "\(message.text)")
    }

    /// A relayed recipient is logged as queued (`smtp message … nrcpt=`), not as an mda
    /// delivery; the local one of the same message still is.
    @Test func theIntakeLogsRelayedRecipientsAsQueued() throws {
        let relay = try InProcessServer(
            config: RelayQueueTests.relayConfig(nextHop: try freePort(), extra: "queue ttl 1h"))
        defer { relay.stop() }
        try #require(relay.server.queueControl).pauseDelivery()
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab",
            to: ["alice@here.lab", "bob@there.lab"], subject: "logged")
        let lines = relay.log.lines
        #expect(lines.contains { $0.contains("smtp message msgid=") && $0.contains("nrcpt=1") })
        #expect(lines.filter { $0.contains("mda delivery") }.count == 1, "\(lines)")
        #expect(!lines.contains { $0.contains("mda delivery") && $0.contains("bob@there.lab") })
    }
}
