/// The contract between the relay queue and its controllers (`smtpctl` over the control
/// socket, the embedding API, tests): what may be seen of the queue and done with it.
/// OpenSMTPD's verbs `show queue`, `schedule`, `remove`, `pause mta`, `resume mta` map onto
/// it one to one.
public protocol QueueControl: AnyObject, Sendable {
    /// Every envelope (one per relay recipient) waiting in the queue or in flight.
    func queueSnapshot() -> [QueuedEnvelope]
    /// Makes the selected envelopes due now; returns how many were selected.
    @discardableResult func schedule(_ selector: QueueSelector) -> Int
    /// Removes the selected envelopes from the queue without a bounce; returns how many.
    @discardableResult func remove(_ selector: QueueSelector) -> Int
    /// Stops starting deliveries to next hops (deliveries in flight finish).
    func pauseDelivery()
    /// Starts deliveries again, due envelopes first.
    func resumeDelivery()
    /// Whether `pauseDelivery` is in effect.
    var isDeliveryPaused: Bool { get }
    /// Counters for `smtpctl show stats`, as `name=value` pairs in a stable order
    /// (OpenSMTPD's style of names, for example `queue.envelope`, `mta.session`).
    func statistics() -> [(name: String, value: Int)]
}

/// What `schedule` and `remove` act on.
public enum QueueSelector: Sendable, Hashable {
    case all
    /// A message: every envelope of it (OpenSMTPD's 8-hex-digit message id).
    case message(UInt32)
    /// One envelope (16 hex digits: the message id, then the envelope's own 32 bits).
    case envelope(UInt64)
}

/// One recipient of a queued message, as `smtpctl show queue` lists it.
public struct QueuedEnvelope: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        /// Waiting for its next attempt.
        case pending
        /// A delivery to the next hop is under way.
        case inflight
    }
    /// The message id is the top 32 bits (`id >> 32`).
    public var id: UInt64
    /// The envelope sender; empty for the null sender `<>`.
    public var sender: String
    public var recipient: String
    /// Where it goes: the relay URL, or the domain whose MX is looked up.
    public var destination: String
    public var state: State
    /// Unix seconds.
    public var created: Int64
    /// Unix seconds: when it bounces if still undelivered (`queue ttl`).
    public var expires: Int64
    /// Unix seconds of the last attempt; 0 if none yet.
    public var lastTry: Int64
    /// Unix seconds of the next attempt.
    public var nextTry: Int64
    /// Attempts made so far.
    public var retries: Int
    /// The last error: the next hop's reply or the connection failure; empty if none.
    public var lastError: String

    public init(
        id: UInt64, sender: String, recipient: String, destination: String, state: State,
        created: Int64, expires: Int64, lastTry: Int64, nextTry: Int64, retries: Int,
        lastError: String
    ) {
        self.id = id
        self.sender = sender
        self.recipient = recipient
        self.destination = destination
        self.state = state
        self.created = created
        self.expires = expires
        self.lastTry = lastTry
        self.nextTry = nextTry
        self.retries = retries
        self.lastError = lastError
    }

    /// The id of the message this envelope belongs to.
    public var messageID: UInt32 { UInt32(truncatingIfNeeded: id >> 32) }
}
