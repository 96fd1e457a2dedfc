import MailQueue

/// The relay queue as `smtpctl` and the embedding API see it (`QueueControl`).
extension RelayQueue: QueueControl {
    public func queueSnapshot() -> [QueuedEnvelope] {
        envelopes().map {
            QueuedEnvelope(
                id: $0.id, sender: $0.sender, recipient: $0.recipient,
                destination: $0.destination, state: $0.inFlight ? .inflight : .pending,
                created: $0.created, expires: $0.expires, lastTry: $0.lastTry,
                nextTry: $0.nextTry, retries: $0.retries, lastError: $0.lastError)
        }
    }

    @discardableResult public func schedule(_ selector: QueueSelector) -> Int {
        schedule(where: selector.selects)
    }

    @discardableResult public func remove(_ selector: QueueSelector) -> Int {
        remove(where: selector.selects)
    }

    public func pauseDelivery() { pause() }
    public func resumeDelivery() { resume() }
    public var isDeliveryPaused: Bool { isPaused }
}

extension QueueSelector {
    /// Whether the envelope `id` is one this selector names.
    func selects(_ id: UInt64) -> Bool {
        switch self {
        case .all: true
        case .message(let message): UInt32(truncatingIfNeeded: id >> 32) == message
        case .envelope(let envelope): id == envelope
        }
    }
}
