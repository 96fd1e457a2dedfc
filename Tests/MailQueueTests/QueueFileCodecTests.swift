import SMTPProtocol
import Testing

@testable import MailQueue

@Suite struct QueueFileCodecTests {
    static let sample = QueuedMessage(
        id: 0x0a1b_2c3d, sender: .address(MailAddress(localPart: "alice", domain: "gruen.lab")),
        created: 1_764_763_200, expires: 1_765_108_800,
        dsn: DSNRequest(ret: .headers, envelopeID: "QQ+2Bx"),
        recipients: [
            QueuedRecipient(
                address: MailAddress(localPart: "bob", domain: "rot.lab"), action: "relay out",
                dsn: RecipientDSN(
                    notify: [.failure, .delay], originalRecipient: "rfc822;bob@rot.lab"),
                state: .pending, attempts: 3, lastTry: 1_764_763_300, nextTry: 1_764_763_420,
                lastError: "421 4.4.2 connection closed - 100% gone"),
            QueuedRecipient(
                address: MailAddress(localPart: "-", domain: "rot.lab"), action: "-",
                state: .delivered),
        ])
    static let content = Array("Received: from x\nSubject: hi\n\nbody\n.\n".utf8)

    @Test func aMessageComesBackAsItWasWritten() throws {
        let bytes = QueueFileCodec.encode(Self.sample, content: Self.content)
        let (message, start) = try QueueFileCodec.decode(bytes)
        #expect(message == Self.sample)
        #expect(Array(bytes[start...]) == Self.content)
    }

    @Test func theNullSenderAndEmptyFieldsRoundTrip() throws {
        var message = Self.sample
        message.sender = .null
        message.dsn = DSNRequest()
        message.recipients[0].lastError = ""
        message.recipients[0].dsn = RecipientDSN()
        #expect(
            try QueueFileCodec.decode(QueueFileCodec.encode(message, content: Self.content)).message
                == message)
    }

    @Test func theLastDelayWarningRoundTripsAndOldFilesReadAsNeverWarned() throws {
        var message = Self.sample
        message.recipients[0].lastWarning = 1_764_777_600
        let text = String(decoding: QueueFileCodec.envelope(message), as: UTF8.self)
        #expect(text.contains("%20gone 1764777600\n"), "\(text)")
        #expect(
            try QueueFileCodec.decode(QueueFileCodec.encode(message, content: Self.content)).message
                == message)
        // A file written before delay warnings (ten fields per rcpt line).
        let old = try QueueFileCodec.decode(QueueFileCodec.encode(Self.sample, content: [])).message
        #expect(old.recipients.map(\.lastWarning) == [0, 0])
        var negative = Array(text.utf8)
        negative.replaceSubrange(
            negative.firstRange(of: Array(" 1764777600".utf8))!, with: Array(" -5".utf8))
        #expect(throws: QueueFileCodec.DecodeError.self) {
            _ = try QueueFileCodec.decode(negative + Self.content)
        }
    }

    @Test func theEnvelopeIsOneTokenPerField() {
        let text = String(decoding: QueueFileCodec.envelope(Self.sample), as: UTF8.self)
        #expect(text.hasPrefix("maillab-queue 1\nid 0a1b2c3d\n"))
        #expect(
            text.contains(
                "rcpt pending 3 1764763300 1764763420 relay%20out bob@rot.lab 6 rfc822;bob@rot.lab 421%204.4.2%20connection%20closed%20%2D%20100%25%20gone\n"
            ))
        #expect(text.hasSuffix("\nend\n"))
    }

    @Test func everyTruncationIsRefusedOrExact() {
        let bytes = QueueFileCodec.encode(Self.sample, content: Self.content)
        let envelopeLength = QueueFileCodec.envelope(Self.sample).count
        for cut in 0..<envelopeLength {
            #expect(throws: QueueFileCodec.DecodeError.self) {
                _ = try QueueFileCodec.decode(Array(bytes[..<cut]))
            }
        }
    }

    /// Where the content begins is found in any prefix holding the whole `end` line, and in
    /// none shorter, whatever the content holds (an `end` line of its own included).
    @Test func theEnvelopeEndIsFoundInAPrefixAndOnlyThere() {
        let envelope = QueueFileCodec.envelope(Self.sample)
        let bytes = envelope + Array("x\nend\n\nend\n".utf8)
        for cut in 0...bytes.count {
            let found = QueueFileCodec.envelopeLength(Array(bytes[..<cut]))
            #expect(found == (cut >= envelope.count ? envelope.count : nil), "cut \(cut)")
        }
    }
}
