import Testing

@testable import SMTPServer

/// The feed behind `MailServer.messages` and `nextMessage` keeps only recent messages, so a
/// long-running server does not grow.
@Suite struct MessageFeedTests {
    @Test func feedKeepsOnlyTheNewest32MiBOfContent() {
        let feed = MessageFeed()
        let mebibyte = [UInt8](repeating: 0x61, count: 1 << 20)
        for index in 0..<40 {
            feed.publish(
                DeliveredMessage(
                    id: "\(index)", sender: "", recipients: [], content: mebibyte, files: []))
        }
        let kept = feed.all
        #expect(kept.count == 32)
        #expect(kept.last?.id == "39")
        #expect(kept.first?.id == "8")
    }
}
