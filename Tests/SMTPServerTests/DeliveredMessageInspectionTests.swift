import Foundation
import Glibc
import LinuxSystem
import MaildirDelivery
import MaildirInspection
import Reactor
import SMTPClient
import Testing

@testable import SMTPServer

/// Issue 5: a message delivered by our smtpd shows, through `mlab maildir`'s library, with
/// the headers the server added; `wait` returns when real deliveries land.
@Test func aDeliveredMessageShowsTheHeadersTheServerAdded() throws {
    let box = NSTemporaryDirectory() + "maillab-inspect-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: box) }
    var options = MailServer.Options()
    options.serverName = "vm"
    let server = try MailServer.catchAll(maildir: box, options: options)
    try server.start()
    defer { server.stop() }

    let maildir = Maildir(root: box)
    let port = server.addresses[0].port
    // A thread of its own: this test blocks in `wait`, and the cooperative pool may have no
    // thread to spare for a Task while other tests block too.
    let sender = try SystemThread.start(name: "sender") {
        for index in 1...3 {
            var send = SendOptions(
                from: "abgelaescht@ausgebuefft", to: ["osdrefuser@localhost"], ehlo: "defaultNS")
            send.server = "127.0.0.1"
            send.port = port
            send.subject = "inspect \(index)"
            send.body = "body \(index)"
            _ = SMTPSend.run(send, output: { _ in })
        }
    }
    let waited = try maildir.wait(forCount: 3, timeout: .seconds(20))
    pthread_join(sender, nil)
    #expect(waited.reached)
    #expect(waited.count == 3)

    let first = try maildir.message("1")
    let shown = MaildirShow.render(first, bytes: try maildir.read(first))
    let lines = shown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines.contains("Return-Path: <abgelaescht@ausgebuefft>"))
    #expect(lines.contains("Delivered-To: osdrefuser@localhost"))
    #expect(
        lines.contains {
            $0.hasPrefix("Received: from ")
                && $0.contains("(localhost [127.0.0.1]) by vm (MailLab) with ESMTP id ")
                && $0.contains(" for <osdrefuser@localhost>; ")
        })
    #expect(lines.contains("Subject: inspect 1"))
    #expect(lines.contains("body 1"))
    // Header order as stored: Return-Path, Delivered-To, Received, then the client's header.
    let names = lines.compactMap { $0.split(separator: ":").first.map(String.init) }
    let order = ["Return-Path", "Delivered-To", "Received"].compactMap { names.firstIndex(of: $0) }
    #expect(order == order.sorted() && order.count == 3)
}
