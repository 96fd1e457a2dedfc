import Glibc
import LinuxSystem
import MailQueue
import MaildirDelivery
import SMTPProtocol

/// A message as it was stored, for users of the embedding API.
public struct DeliveredMessage: Sendable {
    public var id: String
    /// `""` for the null sender.
    public var sender: String
    public var recipients: [String]
    /// The message as stored for its first recipient (Return-Path, Delivered-To, Received,
    /// then the client's header and body), LF line ends.
    public var content: [UInt8]
    /// Maildir files, one per stored recipient (none for the in-memory store and for
    /// recipients of a `maildir "/dev/null"` action).
    public var files: [String]
    /// The user name the client authenticated as (AUTH); nil without AUTH.
    public var authenticatedUser: String?

    /// The content as text (lossy for non-UTF-8 bytes).
    public var text: String { String(decoding: content, as: UTF8.self) }
}

/// Where complete messages go. `deliver` returns at once; `completion` runs on any thread,
/// only after the message is durable (or definitely failed).
protocol MessageStore: Sendable {
    func deliver(
        _ message: Message, completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    )
    /// How a message for `recipients` reaches this store: streamed (`beginStream`), whole
    /// through `deliver` (in memory: a store that cannot stream), or discarded as it arrives
    /// and then `deliver`ed without its content. Asked on the session's loop.
    func intake(for recipients: [AcceptedRecipient]) -> MessageIntake
    /// Opens a streamed delivery for the message being received: its content is written
    /// as it arrives, then committed with the rest. Runs on the `StreamWriter` thread (the
    /// walk and the creates stay off the loops); nil when `intake` does not say `.streamed`.
    func beginStream(_ envelope: MessageEnvelope) -> (any MessageStream)?
    func shutdown()
}

/// A message on its way into a store while it arrives: the store boundary of a streamed
/// delivery (the session side writes, commits or aborts; where the files are and how they
/// are made durable stays behind it). Used by one thread at a time (the session hands it to
/// the `StreamWriter`).
protocol MessageStream: AnyObject, Sendable {
    /// Appends stored bytes; a failure is kept and answered by `commit`.
    func write(_ bytes: [UInt8])
    /// Makes the message durable; `completion` runs on any thread, as `deliver`'s does.
    func commit(completion: @escaping @Sendable (Result<[String], SystemError>) -> Void)
    /// True if `commit(appending:completion:)` never writes on the caller's thread: the
    /// session's loop may then commit itself, without the stream writer.
    var takesTailWithCommit: Bool { get }
    /// `write(tail)`, then `commit`; with `takesTailWithCommit`, the tail is written by the
    /// store's own thread (called from a session's loop, which must not wait for the disk).
    func commit(
        appending tail: [UInt8],
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void)
    /// Drops everything written: nothing of the message stays behind.
    func abort()
}

extension MessageStream {
    var takesTailWithCommit: Bool { false }

    func commit(
        appending tail: [UInt8],
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        write(tail)
        commit(completion: completion)
    }
}

extension MaildirStream: MessageStream {
    var takesTailWithCommit: Bool { true }
}

/// How a session hands a message's content to its store (`MessageStore.intake(for:)`).
enum MessageIntake {
    case streamed
    case whole
    /// Nothing of it is kept (no-storage recipients only): no stream, no writer thread.
    case discarded
}

extension MessageStore {
    func intake(for recipients: [AcceptedRecipient]) -> MessageIntake { .whole }
    func beginStream(_ envelope: MessageEnvelope) -> (any MessageStream)? {
        nil
    }
}

/// Maildir files through the group-committing writer.
struct MaildirStore: MessageStore {
    /// MailLab extension: `action NAME maildir "/dev/null"` discards the message after the
    /// whole SMTP dialogue (the 250 comes at once, nothing is stored). It is the no-storage
    /// mode of the benchmarks, reachable from an ordinary configuration file; OpenSMTPD would
    /// fail such a delivery (not a directory), so no working configuration changes meaning.
    static let discardPath = "/dev/null"

    let writer: MaildirWriter
    /// The relay queue; nil without relay actions.
    var relay: RelayIntake? = nil

    func deliver(
        _ message: Message, completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        var items: [DeliveryItem] = []
        var relayed: [AcceptedRecipient] = []
        for recipient in message.recipients {
            if recipient.route.relays {
                relayed.append(recipient)
            } else if recipient.route.mailbox != Self.discardPath {
                items.append(
                    DeliveryItem(
                        maildir: recipient.route.mailbox,
                        chunks: [message.deliveryHeaders(for: recipient), message.content],
                        owner: recipient.route.owner.map {
                            FileSystemIdentity(user: $0.user, group: $0.group, groups: $0.groups)
                        }))
            }
        }
        guard !relayed.isEmpty else {
            if items.isEmpty {
                completion(.success([]))
            } else {
                writer.deliver(items, completion: completion)
            }
            return
        }
        guard let relay else {
            completion(.failure(SystemError("queue", "relay", errno: ENOSYS)))
            return
        }
        // One spool file for every relayed recipient, last in the batch.
        let (spoolItem, queued) = relay.spoolItem(message, relayed)
        items.append(spoolItem)
        writer.deliver(items) { result in
            switch result {
            case .success(let paths):
                relay.queue.enqueued(path: paths[paths.count - 1], message: queued)
                completion(.success(Array(paths.dropLast())))
            case .failure(let error):
                completion(.failure(error))
            }
        }
    }

    func beginStream(_ envelope: MessageEnvelope) -> (any MessageStream)? {
        guard intake(for: envelope.recipients) == .streamed else { return nil }
        let relayed = envelope.recipients.filter(\.route.relays)
        let local = envelope.recipients.filter { !$0.route.relays }
        let targets = Self.streamTargets(sender: envelope.sender, recipients: local)
        guard !relayed.isEmpty else { return writer.begin(targets) }
        guard let relay else { return nil }
        // One spool file for every relayed recipient, last of the stream's files.
        let (spool, queued) = relay.spoolTarget(envelope, relayed)
        return SpoolingStream(
            stream: writer.begin(targets + [spool]), queue: relay.queue, queued: queued)
    }

    /// The files of a streamed delivery to `recipients` (none for `/dev/null`): what this
    /// store opens, and what the split's delivery side opens for its network side.
    static func streamTargets(sender: ReversePath, recipients: [AcceptedRecipient])
        -> [StreamTarget]
    {
        recipients.filter { $0.route.mailbox != discardPath }.map {
            StreamTarget(
                maildir: $0.route.mailbox,
                prefix: Message.deliveryHeaders(sender: sender, recipient: $0),
                owner: $0.route.owner.map {
                    FileSystemIdentity(user: $0.user, group: $0.group, groups: $0.groups)
                })
        }
    }

    /// Relayed recipients stream too: their spool file is one more file of the stream.
    func intake(for recipients: [AcceptedRecipient]) -> MessageIntake {
        if recipients.allSatisfy({ $0.route.mailbox == Self.discardPath }) { return .discarded }
        return .streamed
    }

    func shutdown() { writer.shutdown() }
}

extension DeliveryFailure {
    /// The reply a failed store step stands for: the one place that maps errno to a delivery
    /// status (like Postfix `mbox_dsn()`). Errors the administrator must fix in the mail
    /// folders (permissions, a file where a folder should be) are permanent; everything else,
    /// including errnos not listed and a read-only or failing disk, is temporary: deferring
    /// is safe, bouncing loses mail.
    init(storing error: SystemError) {
        if error.operation == Maildir.refusedLink {
            // A symbolic link in the Maildir's path (a user's doing, see `OpenedMaildir`):
            // never followed, and not the administrator's mistake to bounce for. Deferred,
            // the mail waits until the link is gone; its own case, as other ELOOPs are fatal.
            self.init(
                code: 451, enhancedStatus: "4.2.0",
                text: "Mailbox unavailable (symbolic link refused), message not stored")
            return
        }
        if error.operation == Maildir.deniedToOwner {
            // Written as the mailbox's owner, whose own folders refuse it: the owner can fix
            // that, so the mail waits (EACCES as root stays the administrator's, permanent).
            self.init(
                code: 451, enhancedStatus: "4.2.0",
                text: "Mailbox unavailable (permission denied to its owner), message not stored")
            return
        }
        switch error.errno {
        case ENOSPC:
            self.init(
                code: 452, enhancedStatus: "4.3.1",
                text: "Insufficient system storage, message not stored")
        case EDQUOT:
            // RFC 3463 X.2.2: the recipient's mailbox (its quota) is full, not the system.
            self.init(
                code: 452, enhancedStatus: "4.2.2", text: "Mailbox full, message not stored")
        case EFBIG:
            self.init(
                code: 552, enhancedStatus: "5.3.4", text: "Message too big for system")
        case EACCES, EPERM, ENOTDIR, EISDIR, ENAMETOOLONG, ELOOP, EINVAL, EXDEV:
            self.init(
                code: 554, enhancedStatus: "5.2.0", text: "Mailbox unavailable, message not stored")
        default:
            self = .temporary
        }
    }
}

/// Keeps messages in memory only: what a test that asserts on content needs, and the
/// no-storage mode of the benchmarks.
struct MemoryStore: MessageStore {
    func deliver(
        _ message: Message, completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        completion(.success([]))
    }
    /// Content is what its tests look at: kept whole.
    func beginStream(_ envelope: MessageEnvelope) -> (any MessageStream)? {
        nil
    }
    func shutdown() {}
}

extension DeliveredMessage {
    init(_ message: Message, files: [String]) {
        id = message.id
        sender =
            switch message.sender {
            case .null: ""
            case .address(let address): address.description
            }
        recipients = message.recipients.map(\.address.description)
        let first = message.recipients.first.map { message.deliveryHeaders(for: $0) } ?? []
        content = first + message.content
        self.files = files
        authenticatedUser = message.authenticatedUser
    }
}
