import Foundation
import LinuxSystem
import SMTPProtocol
import MailLabTesting
import Testing

@testable import SMTPServer

/// The client's side of one stage: the lines sent before it and the line that reaches it
/// (nil: the connection itself, for `connect`), and the reply the stage gives without faults.
private struct StageScript {
    var before: [String]
    var step: String?
    var normalReply: String

    static func to(_ stage: FaultStage) -> StageScript {
        let mail = ["EHLO x", "MAIL FROM:<a@example.org>"]
        switch stage {
        case .connect: return StageScript(before: [], step: nil, normalReply: "220 ")
        case .helo: return StageScript(before: [], step: "EHLO x", normalReply: "250-")
        case .auth:
            return StageScript(
                before: ["EHLO x"], step: "AUTH PLAIN AHUAcA==",  // "\0u\0p"
                normalReply: "235 ")
        case .mail: return StageScript(before: ["EHLO x"], step: mail[1], normalReply: "250 ")
        case .rcpt:
            return StageScript(before: mail, step: "RCPT TO:<b@example.org>", normalReply: "250 ")
        case .data:
            return StageScript(
                before: mail + ["RCPT TO:<b@example.org>"], step: "DATA", normalReply: "354 ")
        case .bdat:
            // One chunk of 17 bytes, a message with a header (the CRLF after "b" is `send`'s).
            return StageScript(
                before: mail + ["RCPT TO:<b@example.org>"],
                step: "BDAT 17 LAST\r\nSubject: s\r\n\r\nb",
                normalReply: "250 ")
        case .body:
            // A body line has no reply of its own: the final dot's 250 shows a delay.
            return StageScript(
                before: mail + ["RCPT TO:<b@example.org>", "DATA"], step: "Subject: s",
                normalReply: "250 ")
        case .afterData, .starttls:
            return StageScript(
                before: mail + ["RCPT TO:<b@example.org>", "DATA", "Subject: s", "", "b"],
                step: ".",
                normalReply: "250 ")
        }
    }
}

/// How the server's side of the connection ended, seen by one read.
private func connectionEnd(_ client: LineClient) -> String {
    var bytes = [UInt8](repeating: 0, count: 512)
    let n = bytes.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
    if n == 0 { return "FIN" }
    if n > 0 { return "data: " + String(decoding: bytes[..<n], as: UTF8.self) }
    return errno == ECONNRESET ? "RST" : "errno \(errno)"
}

/// Each stage (STARTTLS: see the session tests; it needs a certificate) × each action, over a
/// real socket against the in-process server.
@Suite struct FaultStageClientTests {
    static let stages: [FaultStage] = [
        .connect, .helo, .auth, .mail, .rcpt, .data, .bdat, .body, .afterData,
    ]
    static let actions: [String] = ["reply", "delay", "fin", "rst", "partial", "throttle"]

    @Test("the client sees exactly the configured fault", arguments: stages, actions)
    func clientSeesTheFault(stage: FaultStage, action: String) async throws {
        // At body only a 421 can be answered (and it closes).
        let replyText =
            stage == .connect
            ? "554 5.3.2 Closed" : stage == .body ? "421 4.3.0 Fault" : "451 4.3.0 Fault"
        let closesAfterReply = stage == .connect || stage == .body
        let faultAction: FaultAction
        switch action {
        case "reply": faultAction = .reply(try FaultReply(parsing: [replyText]))
        case "delay": faultAction = .delay(nanoseconds: 400_000_000)
        case "partial":
            faultAction = .partialReply(try FaultReply(parsing: ["451 4.3.0 Fault"]), bytes: 5)
        case "throttle":
            // 17 bytes with CRLF at 20 B/s: pieces of 2 bytes, 100 ms apart, 0.8 s in all.
            faultAction = .throttledReply(try FaultReply(parsing: [replyText]), bytesPerSecond: 20)
        case "fin": faultAction = .disconnect(.fin)
        default: faultAction = .disconnect(.rst)
        }
        var options = MailServer.Options()
        options.loops = 1
        options.authentication = .acceptAny()
        options.faults = FaultPlan(
            rules: [try FaultRule(stage: stage, action: faultAction)], seed: 3)
        let server = try MailServer.inMemory(options: options)
        try server.start()
        defer { server.stop() }
        let script = StageScript.to(stage)
        let client = try LineClient(port: server.port)
        if stage != .connect {
            _ = try client.readReply()
            for line in script.before {
                try client.send(line + "\r\n")
                if line != "Subject: s" && line != "" && line != "b" { _ = try client.readReply() }
            }
        }
        let sent = Clock.monotonicNanoseconds()
        if let step = script.step { try client.send(step + "\r\n") }
        // The rest of the message, for the final dot's reply after a delay in the body.
        if stage == .body && action == "delay" { try client.send("\r\nb\r\n.\r\n") }
        switch action {
        case "reply":
            #expect(try client.readReply() == [replyText + "\r\n"])
            if closesAfterReply { #expect(connectionEnd(client) == "FIN") }
        case "delay":
            let reply = try client.readReply()
            let seconds = Double(Clock.monotonicNanoseconds() - sent) / 1e9
            #expect(reply.first?.hasPrefix(script.normalReply) == true, "\(reply)")
            #expect(seconds >= 0.38 && seconds < 2, "reply after \(seconds) s")
        case "partial":
            // Exactly five bytes, no line end, then FIN.
            #expect(connectionEnd(client) == "data: 451 4")
            #expect(connectionEnd(client) == "FIN")
        case "throttle":
            #expect(try client.readReply() == [replyText + "\r\n"])
            let seconds = Double(Clock.monotonicNanoseconds() - sent) / 1e9
            #expect(seconds >= 0.75 && seconds < 3, "reply complete after \(seconds) s")
            if closesAfterReply { #expect(connectionEnd(client) == "FIN") }
        case "fin":
            #expect(connectionEnd(client) == "FIN")
        default:
            #expect(connectionEnd(client) == "RST")
        }
        if stage == .afterData || stage == .body || stage == .bdat {
            // Only a delay lets the message through.
            let stored = server.messages.count
            #expect(stored == (action == "delay" ? 1 : 0))
        }
    }

    @Test(
        "python smtplib with its own timeout: a 5 s banner delay is a timeout at 2 s, a wait at 10 s",
        .mailServer(configure: { options in
            options.faults = FaultPlan(
                rules: [
                    try! FaultRule(stage: .connect, action: .delay(nanoseconds: 5_000_000_000))
                ],
                seed: 4)
        }))
    func smtplibBannerDelay() async throws {
        let server = try #require(MailServer.current)
        let script = """
            import smtplib, sys, time
            port = int(sys.argv[1])
            start = time.monotonic()
            try:
                smtplib.SMTP('127.0.0.1', port, timeout=2)
                print('connected')
            except smtplib.SMTPServerDisconnected as e:
                # smtplib reports its read timeout as a disconnect naming the timeout.
                print('timeout' if 'timed out' in str(e) else repr(e), round(time.monotonic() - start))
            start = time.monotonic()
            s = smtplib.SMTP('127.0.0.1', port, timeout=10)
            print('banner', round(time.monotonic() - start))
            s.quit()
            """
        let result = try runTool(python, ["-c", script, "\(server.port)"])
        #expect(result.output == "timeout 2\nbanner 5\n", "\(result.errors)")
    }
}
