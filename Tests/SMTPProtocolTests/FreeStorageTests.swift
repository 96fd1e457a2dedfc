import Testing

@testable import SMTPProtocol

/// `MAIL FROM:<…> SIZE=n` against the store's free space (injected): more than it can take
/// is refused at MAIL with 452 4.3.1 (RFC 1870), the session goes on.
@Suite struct FreeStorageTests {
    func session(free: Int?) -> SMTPSession {
        var environment = fixedEnvironment()
        environment.freeStorage = { free }
        var session = SMTPSession(
            configuration: referenceConfiguration(), peer: localPeer, policy: FakePolicy(),
            environment: environment)
        _ = session.start()
        _ = session.receive(Array("EHLO x\r\n".utf8))
        return session
    }

    @Test(arguments: [
        (1000, "MAIL FROM:<a@b> SIZE=1001", "452 4.3.1 Insufficient system storage"),
        (1000, "MAIL FROM:<a@b> SIZE=1000", "250 2.0.0 Ok"),
        (1000, "MAIL FROM:<a@b>", "250 2.0.0 Ok"),
    ])
    func sizeIsCheckedAgainstTheFreeSpace(free: Int, command: String, reply: String) {
        var session = session(free: free)
        #expect(session.receive(Array((command + "\r\n").utf8)).replies == [reply])
        #expect(session.receive(Array("NOOP\r\n".utf8)).replies == ["250 2.0.0 Ok"])
    }

    /// The fixed maximum is checked first: its 552 is permanent, the free space is not.
    @Test func aSizeAboveTheMaximumIs552EvenWhenTheDiskIsFull() {
        var session = session(free: 0)
        #expect(
            session.receive(Array("MAIL FROM:<a@b> SIZE=999999999\r\n".utf8)).replies == [
                "552 5.3.4 Message too big for system: Message size exceeds fixed maximum message size"
            ])
    }

    @Test func unknownFreeSpaceChecksNothing() {
        var session = session(free: nil)
        #expect(
            session.receive(Array("MAIL FROM:<a@b> SIZE=1000000\r\n".utf8)).replies == [
                "250 2.0.0 Ok"
            ])
    }
}
