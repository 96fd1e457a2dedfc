import Foundation
import Glibc
import MailLabTestSupport
import MailQueue
import SMTPConfig
import SMTPServer
import Testing

/// The relay queue through the embedding API, on loopback: MX relaying through an injected
/// lookup (never real DNS), `QueueControl` (show, schedule, remove, pause/resume, stats),
/// connection reuse and the per-destination limit, and expiry.
@Suite struct RelayQueueTests {
    /// Exchangers of every domain: the given ones, whatever is asked.
    struct LabExchangers: MailExchangerLookup {
        var exchangers: [MailExchanger]
        func mailExchangers(for domain: String) throws(MailExchangerError) -> [MailExchanger] {
            guard domain == "mx.lab" else {
                throw MailExchangerError(isPermanent: true, reason: "\(domain): no such domain")
            }
            return exchangers
        }
    }

    static func relayConfig(
        nextHop: UInt16, scheme: String = "smtp", extra: String = "", options: String = ""
    ) -> String {
        """
        queue directory "@MAILDIR@.spool"
        queue retry 1s 2s
        \(extra)
        listen on 127.0.0.1
        action "local" maildir "@MAILDIR@" user root
        action "out" relay host "\(scheme)://127.0.0.1:\(nextHop)" \(options)
        action "mx" relay
        match from any for domain "here.lab" action "local"
        match from any for domain "there.lab" action "out"
        match from any for domain "mx.lab" action "mx"
        """
    }

    @Test func mxRelayingTriesTheExchangersInPreferenceOrder() async throws {
        let next = try InProcessServer()
        defer { next.stop() }
        let dead = try freePort()
        let relay = try InProcessServer(config: Self.relayConfig(nextHop: dead)) {
            $0.relayTimeoutSeconds = 5
            $0.mailExchangers = LabExchangers(exchangers: [
                MailExchanger(
                    preference: 20, host: "mx2.mx.lab", addresses: ["127.0.0.1"], port: next.port),
                MailExchanger(
                    preference: 10, host: "mx1.mx.lab", addresses: ["127.0.0.1"], port: dead),
            ])
        }
        defer { relay.stop() }
        let reply = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@mx.lab"],
            subject: "via mx")
        #expect(reply.hasPrefix("250 "), "\(reply)")
        let message = try await next.server.nextMessage(timeout: 15)
        #expect(message.recipients == ["bob@mx.lab"])
        #expect(message.sender == "alice@here.lab")
        #expect(message.text.contains("Subject: via mx\n"))
    }

    @Test func anMXRelayWithoutALookupWaitsWithATemporaryFailure() throws {
        let relay = try InProcessServer(config: Self.relayConfig(nextHop: try freePort()))
        defer { relay.stop() }
        let control = try #require(relay.server.queueControl)
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@mx.lab"],
            subject: "no lookup")
        #expect(
            eventually(within: 5) {
                control.queueSnapshot().first?.lastError.contains("no MX lookup") == true
            })
        let envelope = try #require(control.queueSnapshot().first)
        #expect(envelope.destination == "mx.lab")
        #expect(envelope.recipient == "bob@mx.lab" && envelope.sender == "alice@here.lab")
        #expect(envelope.retries >= 1)
        #expect(maildirFiles(relay.maildir).isEmpty)  // no bounce: it waits
    }

    @Test func queueControlShowsSchedulesPausesAndRemoves() async throws {
        let next = try InProcessServer()
        defer { next.stop() }
        let relay = try InProcessServer(
            config: Self.relayConfig(nextHop: next.port, extra: "queue retry 1h"))
        defer { relay.stop() }
        let control = try #require(relay.server.queueControl)
        control.pauseDelivery()
        #expect(control.isDeliveryPaused)
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "held")
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab",
            to: ["carol@there.lab"], subject: "removed")
        let snapshot = control.queueSnapshot()
        #expect(snapshot.count == 2)
        #expect(snapshot.allSatisfy { $0.state == .pending && $0.retries == 0 })
        #expect(snapshot.allSatisfy { $0.destination == "smtp://127.0.0.1:\(next.port)" })
        let stats = Dictionary(
            uniqueKeysWithValues: control.statistics().map { ($0.name, $0.value) })
        #expect(stats["queue.envelope"] == 2 && stats["queue.message"] == 2)

        let carol = try #require(snapshot.first { $0.recipient == "carol@there.lab" })
        #expect(control.remove(.envelope(carol.id)) == 1)
        #expect(control.remove(.envelope(carol.id)) == 0)  // already gone
        #expect(control.queueSnapshot().map(\.recipient) == ["bob@there.lab"])

        control.resumeDelivery()
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.recipients == ["bob@there.lab"])
        #expect(eventually(within: 5) { control.queueSnapshot().isEmpty })
        #expect(eventually(within: 5) { maildirFiles(relay.maildir + ".spool").isEmpty })
        #expect(maildirFiles(relay.maildir).isEmpty)  // a removed envelope does not bounce
        #expect(next.server.messages.count == 1)
    }

    @Test func scheduleRetriesADeferredEnvelopeAtOnce() async throws {
        let port = try freePort()
        let relay = try InProcessServer(
            config: Self.relayConfig(nextHop: port, extra: "queue retry 1h")
        ) { $0.relayTimeoutSeconds = 5 }
        defer { relay.stop() }
        let control = try #require(relay.server.queueControl)
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "later")
        #expect(eventually(within: 5) { control.queueSnapshot().first?.retries == 1 })
        let deferred = try #require(control.queueSnapshot().first)
        #expect(deferred.nextTry > deferred.lastTry + 3_000)  // an hour away
        #expect(deferred.lastError.hasPrefix("421 4.4.1"), "\(deferred.lastError)")
        // The next hop comes up on that port; `schedule all` does not wait the hour.
        var options = MailServer.Options()
        options.loops = 1
        let next = try MailServer.catchAll(
            maildir: relay.directory.path + "/next", port: port, options: options)
        try next.start()
        defer { next.stop() }
        #expect(control.schedule(.all) == 1)
        let message = try await next.nextMessage(timeout: 10)
        #expect(message.recipients == ["bob@there.lab"])
    }

    @Test func sessionsAreReusedAndLimitedPerDestination() async throws {
        let next = try InProcessServer()
        defer { next.stop() }
        let relay = try InProcessServer(config: Self.relayConfig(nextHop: next.port))
        defer { relay.stop() }
        let control = try #require(relay.server.queueControl)
        control.pauseDelivery()
        for n in 0..<10 {
            _ = try sendMail(
                host: "127.0.0.1", port: relay.port, from: "alice@here.lab",
                to: ["bob@there.lab"], subject: "n\(n)")
        }
        control.resumeDelivery()
        for _ in 0..<10 { _ = try await next.server.nextMessage(timeout: 10) }
        let sessions = next.log.lines.filter { $0.contains("smtp connected") }.count
        #expect(sessions >= 1 && sessions <= 4, "\(sessions) sessions for 10 messages")
    }

    @Test func anEnvelopePastItsTTLBouncesWithStatus447() throws {
        let relay = try InProcessServer(
            config: Self.relayConfig(nextHop: try freePort(), extra: "queue ttl 2s")
        ) { $0.relayTimeoutSeconds = 5 }
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "too late")
        let files = waitForFiles(relay.maildir, count: 1, timeout: 15)
        try #require(files.count == 1, "\(relay.log.lines.joined(separator: "\n"))")
        let dsn = readText(files[0])
        #expect(dsn.contains("Status: 4.4.7\n"), "\(dsn)")
        #expect(dsn.contains("Diagnostic-Code: smtp; 4.4.7 Delivery time expired"), "\(dsn)")
        #expect(dsn.contains("Final-Recipient: rfc822; bob@there.lab\n"))
        #expect(eventually(within: 5) { maildirFiles(relay.maildir + ".spool").isEmpty })
    }

    /// A next hop with TLS (`mode`) on loopback.
    static func tlsNextHop(_ mode: TLSMode) throws -> InProcessServer {
        let files = try TestCertificate.make()
        return try InProcessServer {
            $0.tls = MailServer.TLSSetting(
                certificate: files.certificate, key: files.key, mode: mode)
        }
    }

    @Test(arguments: [
        ("smtp", TLSMode.starttls, ""), ("smtp+tls", TLSMode.starttls, ""),
        ("smtps", TLSMode.smtps, ""), ("smtp", TLSMode.starttls, "tls no-verify"),
    ])
    func tlsToTheNextHopWhenTheSchemeAsksForIt(scheme: String, mode: TLSMode, options: String)
        async throws
    {
        let next = try Self.tlsNextHop(mode)
        defer { next.stop() }
        let relay = try InProcessServer(
            config: Self.relayConfig(nextHop: next.port, scheme: scheme, options: options)
        ) { $0.relayTimeoutSeconds = 5 }
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "secret")
        let message = try await next.server.nextMessage(timeout: 10)
        // The next hop's own Received line says the session was under TLS.
        #expect(message.text.contains(") with ESMTPS id "), "\(message.text)")
        #expect(message.text.contains("Subject: secret\n"))
    }

    @Test func smtpPlusTLSWaitsWhenTheNextHopHasNoSTARTTLS() throws {
        let next = try InProcessServer()
        defer { next.stop() }
        let relay = try InProcessServer(
            config: Self.relayConfig(
                nextHop: next.port, scheme: "smtp+tls", extra: "queue retry 1h"))
        defer { relay.stop() }
        let control = try #require(relay.server.queueControl)
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "not in clear")
        #expect(
            eventually(within: 5) {
                control.queueSnapshot().first?.lastError.contains("4.7.10 STARTTLS required")
                    == true
            })
        #expect(next.server.messages.isEmpty)
    }

    @Test func plainSMTPWithoutTLSStillDeliversAndSmtpNoTLSNeverStartsIt() async throws {
        let next = try Self.tlsNextHop(.starttls)
        defer { next.stop() }
        let relay = try InProcessServer(
            config: Self.relayConfig(nextHop: next.port, scheme: "smtp+notls"))
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "clear")
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.text.contains(") with ESMTP id "), "\(message.text)")
    }
}

/// What MailLab does not carry out (`filter`, `srs`) is refused before the server starts
/// (`smtpd -n`), with the action's `FILE:LINE`, and so are OpenSMTPD's own contradictions
/// and options that name what is not there; the rest is accepted.
@Test func unsupportedRelayOptionsAreConfigurationErrors() throws {
    let text = """
        srs key "lab-secret"
        listen on 127.0.0.1
        action "a" relay host "smtp://192.0.2.1" mail-from "x@y.lab" srs
        action "b" relay host "smtp+tls://192.0.2.1" tls ca nosuch
        action "c" relay host "smtps://192.0.2.1" tls no-verify helo relay.lab protocols "tlsv1.1,!tlsv1.1"
        action "d" relay backup
        action "e" relay backup mx "mx2.lab" tls
        action "f" relay host "smtp://192.0.2.1" pki nosuch
        match for domain "a.lab" action "a"
        match for domain "b.lab" action "b"
        match for domain "c.lab" action "c"
        match for domain "d.lab" action "d"
        match for domain "e.lab" action "e"
        match for domain "f.lab" action "f"
        """
    let configuration = try SMTPConfiguration.parse(text, fileName: "t.conf") { _ in "" }
    let errors = MailServer.validate(configuration).map(\.description)
    #expect(
        errors == [
            "t.conf:3: action \"a\": relay srs not supported by MailLab",
            "t.conf:4: action \"b\": relay ca nosuch: no such ca (declare \"ca nosuch cert FILE\")",
            "t.conf:5: action \"c\": relay invalid protocols \"tlsv1.1,!tlsv1.1\": no protocol left",
            "t.conf:8: action \"f\": relay pki nosuch: no such pki with a certificate and a key",
        ])
}

/// A message for a local user and two relayed ones: after its one 250, the Maildir file and
/// one spool file (both relayed recipients in it) are on disk, and the spool file says who
/// is pending.
@Test func localAndRelayedRecipientsAreStoredTogetherBeforeThe250() throws {
    let relay = try InProcessServer(
        config: RelayQueueTests.relayConfig(nextHop: try freePort(), extra: "queue ttl 1h"))
    defer { relay.stop() }
    let control = try #require(relay.server.queueControl)
    control.pauseDelivery()
    let reply = try sendMail(
        host: "127.0.0.1", port: relay.port, from: "alice@here.lab",
        to: ["alice@here.lab", "bob@there.lab", "carol@there.lab"], subject: "mixed")
    #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
    // No waiting: the 250 came after both were written.
    #expect(maildirFiles(relay.maildir).count == 1)
    let spooled = maildirFiles(relay.maildir + ".spool")
    try #require(spooled.count == 1)
    let file = readText(spooled[0])
    #expect(file.hasPrefix("maillab-queue 1\n"))
    #expect(file.contains(" out bob@there.lab ") && file.contains(" out carol@there.lab "))
    // The local recipient is not queued: two recipient lines, not three.
    #expect(file.components(separatedBy: "\nrcpt ").count - 1 == 2)
    #expect(file.contains("\nexpires "))
    #expect(file.contains("Subject: mixed\n"))
    #expect(control.queueSnapshot().count == 2)
    let envelope = try #require(control.queueSnapshot().first)
    #expect(envelope.expires - envelope.created == 3_600)
}

/// Dropped sessions and 4xx are retried with backoff, and the message arrives once: the
/// next hop (fault injection) resets the connection after the first DATA, greylists the
/// second session, takes the third.
@Test func droppedSessionsAndTemporaryRefusalsAreRetriedUntilDelivered() throws {
    let next = try InProcessServer(
        config: """
            listen on 127.0.0.1
            action "local" maildir "@MAILDIR@" user root
            match from any for any action "local"
            fault at after-data disconnect rst for session 1
            fault at rcpt reply "451 4.7.1 Greylisted, try again" for session 2
            """)
    defer { next.stop() }
    let relay = try InProcessServer(config: RelayQueueTests.relayConfig(nextHop: next.port)) {
        $0.relayTimeoutSeconds = 5
    }
    defer { relay.stop() }
    let reply = try sendMail(
        host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
        subject: "persist")
    #expect(reply.hasPrefix("250 "), "\(reply)")
    let files = waitForFiles(next.maildir, count: 1, timeout: 20)
    #expect(files.count == 1, "\(relay.log.lines.joined(separator: "\n"))")
    let deferrals = relay.log.lines.filter { $0.contains(" deferred: ") }
    // The reset first, then the greylisting: once, or again when the retry came within the
    // reused session 2 (a retry sooner than the session's 2 s idle time).
    #expect(deferrals.first?.contains("Connection reset by peer") == true, "\(deferrals)")
    #expect(deferrals.count >= 2, "\(deferrals)")
    #expect(
        deferrals.dropFirst().allSatisfy { $0.contains("451 4.7.1 Greylisted") }, "\(deferrals)")
    #expect(eventually(within: 5) { maildirFiles(relay.maildir + ".spool").isEmpty })
    Thread.sleep(forTimeInterval: 0.5)
    #expect(maildirFiles(next.maildir).count == 1)  // once, not once per attempt
}

/// An action's own `ttl` wins over `queue ttl`.
@Test func aRelayActionsTTLOverridesTheQueueTTL() throws {
    let relay = try InProcessServer(
        config: RelayQueueTests.relayConfig(
            nextHop: try freePort(), extra: "queue ttl 1h", options: "ttl 30m"))
    defer { relay.stop() }
    let control = try #require(relay.server.queueControl)
    control.pauseDelivery()
    _ = try sendMail(
        host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
        subject: "ttl")
    let envelope = try #require(control.queueSnapshot().first)
    #expect(envelope.expires - envelope.created == 1_800)
}
