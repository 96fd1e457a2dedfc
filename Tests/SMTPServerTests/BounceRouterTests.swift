import LinuxSystem
import SMTPProtocol
import Synchronization
import Testing

@testable import SMTPServer

/// Bounces the queue hands back (BounceRouter) to the server: a rule that refuses their recipient discards
/// them (as OpenSMTPD), a temporary verdict keeps them for another try (review finding: the
/// notice was discarded while the original was removed).
@Suite struct BounceRouterTests {
    struct FixedPolicy: RecipientPolicy {
        var verdict: RecipientVerdict
        func evaluate(_ recipient: MailAddress, context: RecipientContext) -> RecipientVerdict {
            verdict
        }
    }

    final class CountingStore: MessageStore {
        let stored = Atomic<Int>(0)
        func deliver(
            _ message: Message,
            completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
        ) {
            stored.add(1, ordering: .relaxed)
            completion(.success(["new/1"]))
        }
        func shutdown() {}
    }

    static func submit(_ verdict: RecipientVerdict) -> (done: Bool?, stored: Int) {
        let intake = BounceRouter(log: LogSink.none)
        let store = CountingStore()
        intake.connect(store: store, policy: FixedPolicy(verdict: verdict), serverName: "blau.lab")
        let result = Mutex<Bool?>(nil)
        intake.submit(
            to: MailAddress(localPart: "alice", domain: "gruen.lab"),
            content: Array("Subject: bounce\n\nx\n".utf8)
        ) { stored in result.withLock { $0 = stored } }
        return (result.withLock { $0 }, store.stored.load(ordering: .relaxed))
    }

    @Test func aTemporaryVerdictKeepsTheBounceForAnotherTry() {
        let (done, stored) = Self.submit(.temporaryFailure)
        #expect(done == false)
        #expect(stored == 0)
    }

    @Test func aRefusedRecipientDiscardsTheBounceAndAnAcceptedOneStoresIt() {
        #expect(Self.submit(.reject) == (true, 0))
        let accepted = Self.submit(
            .accept(RecipientRoute(action: "local", user: "alice", mailbox: "/tmp/never")))
        #expect(accepted.done == true && accepted.stored == 1)
    }
}
