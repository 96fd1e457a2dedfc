import ControlProtocol
import LinuxSystem
import SMTPConfig
import SMTPProtocol

/// Carries out smtpctl's requests against the running server: the relay queue through
/// `QueueControl`, logging, fault rules and counters through the server's core. Every
/// request is logged with who made it.
final class ControlService: Sendable {
    private let core: ServerCore
    private let queue: (any QueueControl)?

    init(core: ServerCore, queue: (any QueueControl)?) {
        self.core = core
        self.queue = queue
    }

    func log(_ line: String) { core.log(line) }
    func opened() { core.controlSessions.add(1, ordering: .relaxed) }
    func closed() { core.controlSessions.subtract(1, ordering: .relaxed) }

    /// What the queue verbs answer while there is no queue.
    static let noQueue = "no relay queue: this configuration has no relay action"

    func handle(_ request: ControlRequest, from peer: ControlPeer) -> ControlResponse {
        let response = answer(request)
        let result: String
        switch response {
        case .failed(let reason): result = "failed (\(reason))"
        default: result = "ok"
        }
        core.log(
            "info: control: uid=\(peer.uid) pid=\(peer.pid) command=\"\(request.words)\" result=\(result)"
        )
        return response
    }

    private func answer(_ request: ControlRequest) -> ControlResponse {
        switch request {
        case .showQueue:
            guard let queue else { return .failed(Self.noQueue) }
            let now = Clock.unixSeconds()
            return .lines(
                queue.queueSnapshot().sorted { $0.id < $1.id }.map {
                    ControlListing.queueLine(ListedEnvelope($0), now: now)
                })
        case .showStats:
            var counters = core.statistics()
            if let queue { counters += queue.statistics() }
            return .lines(
                ControlListing.statsLines(
                    counters, startedAt: core.startedAt, now: Clock.unixSeconds()))
        case .schedule(let selector):
            guard let queue else { return .failed(Self.noQueue) }
            return .count(queue.schedule(QueueSelector(selector)))
        case .remove(let selector):
            guard let queue else { return .failed(Self.noQueue) }
            return .count(queue.remove(QueueSelector(selector)))
        case .pauseMTA:
            guard let queue else { return .failed(Self.noQueue) }
            // As OpenSMTPD's control.c: pausing what is paused fails.
            guard !queue.isDeliveryPaused else { return .failed("mta is already paused") }
            queue.pauseDelivery()
            core.log("info: mta paused")
            return .succeeded
        case .resumeMTA:
            guard let queue else { return .failed(Self.noQueue) }
            guard queue.isDeliveryPaused else { return .failed("mta is not paused") }
            queue.resumeDelivery()
            core.log("info: mta resumed")
            return .succeeded
        case .log(let verbose):
            core.verbose.store(verbose, ordering: .relaxed)
            return .succeeded
        case .traceSMTP(let on):
            core.tracing.store(on, ordering: .relaxed)
            return .succeeded
        case .showFaults:
            guard let plan = core.currentFaults, !plan.rules.isEmpty else {
                return .lines(["no fault rules"])
            }
            return .lines(
                ["fault seed \(plan.seed)"] + plan.rules.map(FaultStatementText.statement))
        case .clearFaults:
            core.replaceFaults(nil)
            return .succeeded
        case .loadFaults(let name, let text):
            // Only `fault …` statements (and macros); errors are FILE:LINE. Sessions that
            // begin from now on get the new rules.
            return loadFaults(name: name, text: text)
        }
    }

    private func loadFaults(name: String, text: String) -> ControlResponse {
        let configuration: SMTPConfiguration
        do {
            configuration = try SMTPConfiguration.parseFaults(text, fileName: name)
        } catch {
            return .failed(error.errors.map(\.description).joined(separator: "; "))
        }
        guard let plan = MailServer.faultPlan(configuration) else {
            return .failed("\(name): no fault statements (clear faults removes the rules)")
        }
        core.replaceFaults(plan)
        return .succeeded
    }
}

extension QueueSelector {
    init(_ selector: ControlSelector) {
        switch selector {
        case .all: self = .all
        case .message(let id): self = .message(id)
        case .envelope(let id): self = .envelope(id)
        }
    }
}

extension ListedEnvelope {
    init(_ envelope: QueuedEnvelope) {
        self.init(
            id: envelope.id, sender: envelope.sender, recipient: envelope.recipient,
            state: envelope.state == .inflight ? .inflight : .pending,
            created: envelope.created, expires: envelope.expires, lastTry: envelope.lastTry,
            nextTry: envelope.nextTry, retries: envelope.retries, lastError: envelope.lastError)
    }
}
