import Foundation
import LinuxSystem
import Testing

@testable import MaildirDelivery
@testable import MaildirInspection

@Suite struct MaildirShowTests {
    let varied = Maildir(root: fixtures + "/varied")

    /// Stands in for a message our smtpd delivered: the file OpenSMTPD 6.8 stored in
    /// reference §7.3 (LF line ends, Return-Path and Delivered-To prepended, Received with
    /// TAB continuation lines). The end-to-end version runs the server.
    @Test func smtpdDeliveredMessageShowsTheHeadersItAdded() throws {
        let message = try varied.message("1795924911.d055bf29.vm")
        let shown = MaildirShow.render(message, bytes: try varied.read(message))
        #expect(
            shown == """
                File: new/1795924911.d055bf29.vm
                Size: 358 bytes

                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1]) by vm (OpenSMTPD) with SMTP id fa33b34e for <osdrefuser@localhost>; Sun, 29 Nov 2026 04:01:51 +0000 (UTC)
                Subject: test
                Date: Sun, 29 Nov 2026 04:01:51 +0000 (UTC)
                Message-ID: <cd2dc1debbd4f121@vm>

                first body line
                second body line

                """)
        let headersOnly = MaildirShow.render(
            message, bytes: try varied.read(message), headersOnly: true)
        #expect(shown.hasPrefix(headersOnly))
        #expect(!headersOnly.contains("first body line"))
        #expect(headersOnly.hasSuffix("Message-ID: <cd2dc1debbd4f121@vm>\n"))
    }

    @Test func selectorsFindTheSameMessage() throws {
        let byNumber = try varied.message("3")
        #expect(byNumber.name == "1700001200.M3P200Q3.fixture,S=1695:2,RS")
        #expect(try varied.message(byNumber.name) == byNumber)
        #expect(try varied.message(byNumber.uniqueName) == byNumber)
        #expect(try varied.message(byNumber.path) == byNumber)
        #expect(try varied.message("cur/" + byNumber.name) == byNumber)
    }

    @Test(arguments: ["0", "6", "-1", "nope", "1700001200.M3P200Q3"])
    func unknownSelectorsFail(selector: String) {
        #expect(throws: SystemError.self) { try varied.message(selector) }
    }

    @Test func storedHeaderSectionEndsWithTheBlankLine() throws {
        let message = try varied.message("1")
        let stored = try varied.read(message)
        let header = MaildirShow.storedHeaderSection(stored)
        #expect(stored.starts(with: header))
        #expect(Array(header.suffix(4)) == bytes("\r\n\r\n"))
        #expect(stored.dropFirst(header.count).starts(with: bytes("Just plain text.")))
    }
}
