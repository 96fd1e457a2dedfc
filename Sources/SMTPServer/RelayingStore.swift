import LinuxSystem
import MailQueue
import MaildirDelivery
import SMTPProtocol
import Synchronization

/// The network side's store when the configuration relays (docs/PRIVILEGES.md): the queue
/// and its spool are the network side's own, so relayed recipients become a spool file
/// written by a writer of this process, while every other recipient goes to `local` (the
/// delivery side). A message for both is answered once both are durable: the two flushes
/// run side by side. Should the local part fail, the spool file is removed before the
/// failure is answered, so the client's retry relays nothing twice; should the spool fail,
/// the local copies stay (a duplicate when the client retries, never a loss), as in a
/// restart of the network side.
struct RelayingStore: MessageStore {
    let local: any MessageStore
    let relay: RelayIntake
    /// Writes into the spool only.
    let writer: MaildirWriter

    func intake(for recipients: [AcceptedRecipient]) -> MessageIntake {
        // Relayed content streams into the spool file of this process's writer.
        if recipients.contains(where: \.route.relays) { return .streamed }
        return local.intake(for: recipients)
    }

    func beginStream(_ envelope: MessageEnvelope) -> (any MessageStream)? {
        let relayed = envelope.recipients.filter(\.route.relays)
        guard !relayed.isEmpty else { return local.beginStream(envelope) }
        var rest = envelope
        rest.recipients = envelope.recipients.filter { !$0.route.relays }
        let (target, queued) = relay.spoolTarget(envelope, relayed)
        // No local stream for no local recipient, nor for discarded ones only.
        let localStream = rest.recipients.isEmpty ? nil : local.beginStream(rest)
        return RelayingStream(
            spool: writer.begin([target]), local: localStream, queue: relay.queue,
            queued: queued)
    }

    func deliver(
        _ message: Message, completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        let relayed = message.recipients.filter(\.route.relays)
        guard !relayed.isEmpty else {
            local.deliver(message, completion: completion)
            return
        }
        var rest = message
        rest.recipients = message.recipients.filter { !$0.route.relays }
        let (item, queued) = relay.spoolItem(message, relayed)
        let join = DeliveryJoin(
            expecting: rest.recipients.isEmpty ? 1 : 2, queue: relay.queue, queued: queued,
            completion: completion)
        writer.deliver([item]) { join.spool($0) }
        if rest.recipients.isEmpty {
            return
        }
        local.deliver(rest) { join.local($0) }
    }

    func shutdown() {
        local.shutdown()
        writer.shutdown()
    }
}

/// The network side's stream of a message with relayed recipients: its spool file, written
/// by this process's writer, and the delivery side's stream for the other recipients (none
/// when there are none, or only discarded ones); answered as `RelayingStore.deliver` is.
private final class RelayingStream: MessageStream {
    private let spool: MaildirStream
    private let local: (any MessageStream)?
    private let queue: RelayQueue
    private let queued: QueuedMessage

    init(
        spool: MaildirStream, local: (any MessageStream)?, queue: RelayQueue, queued: QueuedMessage
    ) {
        self.spool = spool
        self.local = local
        self.queue = queue
        self.queued = queued
    }

    /// The spool's stream takes its tail on its writer's thread; the local one may not.
    var takesTailWithCommit: Bool { local?.takesTailWithCommit ?? spool.takesTailWithCommit }

    func write(_ bytes: [UInt8]) {
        spool.write(bytes)
        local?.write(bytes)
    }

    func commit(completion: @escaping @Sendable (Result<[String], SystemError>) -> Void) {
        commit(appending: [], completion: completion)
    }

    func commit(
        appending tail: [UInt8],
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        let join = DeliveryJoin(
            expecting: local == nil ? 1 : 2, queue: queue, queued: queued, completion: completion)
        spool.commit(appending: tail) { join.spool($0) }
        local?.commit(appending: tail) { join.local($0) }
    }

    func abort() {
        spool.abort()
        local?.abort()
    }
}

/// The spool's result and the local store's (the latter success with no paths when there is
/// no local part), answered as one: both durable, the spool file joins the queue; the local
/// part failed, the spool file goes before the failure is answered (the client's retry
/// relays nothing twice); the spool failed, the local copies stay (a duplicate when the
/// client retries, never a loss).
private final class DeliveryJoin: Sendable {
    typealias Outcome = Result<[String], SystemError>
    private struct State {
        var spool: Outcome?
        var local: Outcome?
        var left: Int
    }
    private let state: Mutex<State>
    private let queue: RelayQueue
    private let queued: QueuedMessage
    private let completion: @Sendable (Outcome) -> Void

    init(
        expecting count: Int, queue: RelayQueue, queued: QueuedMessage,
        completion: @escaping @Sendable (Outcome) -> Void
    ) {
        state = Mutex(State(local: count == 1 ? .success([]) : nil, left: count))
        self.queue = queue
        self.queued = queued
        self.completion = completion
    }

    func spool(_ outcome: Outcome) { arrive { $0.spool = outcome } }
    func local(_ outcome: Outcome) { arrive { $0.local = outcome } }

    private func arrive(_ record: (inout State) -> Void) {
        let done = state.withLock { state -> (Outcome, Outcome)? in
            record(&state)
            state.left -= 1
            guard state.left == 0, let spool = state.spool, let local = state.local else {
                return nil
            }
            return (spool, local)
        }
        guard let (spool, local) = done else { return }
        switch (spool, local) {
        case (.success(let spoolPaths), .success(let paths)):
            queue.enqueued(path: spoolPaths[0], message: queued)
            completion(.success(paths))
        case (.success(let spoolPaths), .failure(let error)):
            queue.removeUnacknowledged(path: spoolPaths[0])
            completion(.failure(error))
        case (.failure(let error), _):
            completion(.failure(error))
        }
    }
}
