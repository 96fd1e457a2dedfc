import LinuxSystem
import MailQueue
import MaildirDelivery
import SMTPProtocol
import Synchronization

/// The store's way into the relay queue: a message's relayed recipients become one spool
/// file, written by the Maildir writer in the same batch (and flush) as its local
/// deliveries, so that the 250 follows the one flush that covers both.
struct RelayIntake: Sendable {
    let queue: RelayQueue
    /// `queue ttl` (seconds); an action's own `ttl` is its route's, applied per recipient.
    let ttl: Int

    /// The spool file of `message`'s relayed recipients, for the writer, and the queue's
    /// record of it (``RelayQueue/enqueued(path:message:)`` once the file is durable).
    func spoolItem(_ message: Message, _ relayed: [AcceptedRecipient]) -> (
        DeliveryItem, QueuedMessage
    ) {
        let queued = queuedMessage(message.envelope, relayed)
        return (
            DeliveryItem(
                maildir: queue.spoolRoot,
                chunks: [QueueFileCodec.envelope(queued), message.content]),
            queued
        )
    }

    /// The same for a message streamed as it arrives: the envelope is the file's prefix.
    func spoolTarget(_ envelope: MessageEnvelope, _ relayed: [AcceptedRecipient]) -> (
        StreamTarget, QueuedMessage
    ) {
        let queued = queuedMessage(envelope, relayed)
        return (
            StreamTarget(maildir: queue.spoolRoot, prefix: QueueFileCodec.envelope(queued)), queued
        )
    }

    /// The queue's record of a message for `recipients` (its relayed ones).
    func queuedMessage(_ envelope: MessageEnvelope, _ recipients: [AcceptedRecipient])
        -> QueuedMessage
    {
        let now = Clock.unixSeconds()
        return QueuedMessage(
            id: UInt32(envelope.id, radix: 16) ?? UInt32.random(in: .min ... .max),
            sender: envelope.sender, created: now, expires: now + Int64(self.ttl),
            dsn: envelope.dsn,
            recipients: recipients.map {
                QueuedRecipient(address: $0.address, action: $0.route.action, dsn: $0.dsn)
            })
    }
}

/// A streamed delivery whose last file is a relayed message's spool file (one process: the
/// writer makes both durable in one flush): once durable it joins the queue, and the answer
/// names only the other files.
final class SpoolingStream: MessageStream {
    private let stream: MaildirStream
    private let queue: RelayQueue
    private let queued: QueuedMessage

    init(stream: MaildirStream, queue: RelayQueue, queued: QueuedMessage) {
        self.stream = stream
        self.queue = queue
        self.queued = queued
    }

    var takesTailWithCommit: Bool { stream.takesTailWithCommit }
    func write(_ bytes: [UInt8]) { stream.write(bytes) }

    func commit(completion: @escaping @Sendable (Result<[String], SystemError>) -> Void) {
        commit(appending: [], completion: completion)
    }

    func commit(
        appending tail: [UInt8],
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        stream.commit(appending: tail) { [queue, queued] result in
            completion(
                result.map { paths in
                    if let spool = paths.last { queue.enqueued(path: spool, message: queued) }
                    return Array(paths.dropLast())
                })
        }
    }

    func abort() { stream.abort() }
}

/// Routes and stores the bounces of the queue as if a local client had sent them from `<>`:
/// through the first listener's rules, so that a local sender finds it in its Maildir and a
/// remote one gets it relayed. Set up after the store exists (the queue comes first).
final class BounceRouter: Sendable {
    private struct Target: Sendable {
        var store: any MessageStore
        var policy: any RecipientPolicy
        var serverName: String
    }
    private let target = Mutex<Target?>(nil)
    private let log: LogSink

    init(log: LogSink) { self.log = log }

    func connect(store: any MessageStore, policy: any RecipientPolicy, serverName: String) {
        target.withLock { $0 = Target(store: store, policy: policy, serverName: serverName) }
    }

    func submit(
        to recipient: MailAddress, content: [UInt8], done: @escaping @Sendable (Bool) -> Void
    ) {
        guard let target = target.withLock({ $0 }) else {
            done(false)
            return
        }
        let context = RecipientContext(
            peer: PeerInfo(address: "127.0.0.1", hostName: "localhost"),
            heloName: target.serverName, sender: .null)
        let route: RecipientRoute
        switch target.policy.evaluate(recipient, context: context) {
        case .accept(let accepted): route = accepted
        case .temporaryFailure:
            // A transient condition (a Maildir path refused for now): the queue keeps the
            // original and tries the bounce again, rather than lose the notice.
            log.write("warn: queue: the bounce to <\(recipient)> cannot be routed now: will retry")
            done(false)
            return
        case .reject:
            // OpenSMTPD discards a bounce it cannot route; so does MailLab, saying so.
            log.write("warn: queue: no rule routes the bounce to <\(recipient)>: discarded")
            done(true)
            return
        }
        let id = String(UInt32.random(in: .min ... .max), radix: 16)
        let message = Message(
            id: String(repeating: "0", count: 8 - id.count) + id, sender: .null,
            recipients: [
                AcceptedRecipient(address: recipient, original: recipient.description, route: route)
            ], content: content, protocolName: "ESMTP")
        target.store.deliver(message) { result in
            if case .failure(let error) = result {
                self.log.write("warn: queue: bounce to <\(recipient)> not stored: \(error)")
                done(false)
            } else {
                done(true)
            }
        }
    }
}
