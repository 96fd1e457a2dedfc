import LinuxSystem
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
        // The queue keeps relayed content whole, for its sessions.
        if recipients.contains(where: \.route.relays) { return .whole }
        return local.intake(for: recipients)
    }

    func beginStream(sender: ReversePath, recipients: [AcceptedRecipient]) -> (any MessageStream)? {
        guard intake(for: recipients) == .streamed else { return nil }
        return local.beginStream(sender: sender, recipients: recipients)
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
        let join = DeliveryJoin(expecting: rest.recipients.isEmpty ? 1 : 2) {
            spool, local in
            switch (spool, local) {
            case (.success(let spoolPaths), .success(let paths)):
                relay.queue.enqueued(path: spoolPaths[0], message: queued)
                completion(.success(paths))
            case (.success(let spoolPaths), .failure(let error)):
                relay.queue.removeUnacknowledged(path: spoolPaths[0])
                completion(.failure(error))
            case (.failure(let error), _):
                completion(.failure(error))
            }
        }
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

/// Two results answered as one: the spool's and the local store's (the latter success with
/// no paths when there is no local part).
private final class DeliveryJoin: Sendable {
    typealias Outcome = Result<[String], SystemError>
    private struct State {
        var spool: Outcome?
        var local: Outcome?
        var left: Int
    }
    private let state: Mutex<State>
    private let finish: @Sendable (Outcome, Outcome) -> Void

    init(expecting count: Int, finish: @escaping @Sendable (Outcome, Outcome) -> Void) {
        state = Mutex(State(local: count == 1 ? .success([]) : nil, left: count))
        self.finish = finish
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
        if let (spool, local) = done { finish(spool, local) }
    }
}
