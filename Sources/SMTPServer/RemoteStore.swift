import Glibc
import LinuxSystem
import SMTPProtocol
import Synchronization

/// The network side's end of the socket pair (docs/PRIVILEGES.md): sends BEGIN, COMMIT,
/// ABORT, DELIVER, AUTH and TRANSCRIPT records and matches the parent's answers to them on a reading thread of
/// its own. When the parent goes away (end of file) or sends something malformed, every
/// waiting call fails with EPIPE and so does every later one: nothing is answered 250.
final class SplitClient: Sendable {
    private enum Waiter {
        /// With the descriptors of the OPENED packets so far.
        case begin(Reply<Result<[Int32], SystemError>>, [Int32])
        case commit(@Sendable (Result<[String], SystemError>) -> Void)
        case auth(Reply<SplitAuthResult>)
        /// A TRANSCRIPT request: one descriptor.
        case file(Reply<Result<Int32, SystemError>>)
    }
    /// A blocking caller's answer, handed over from the reading thread.
    final class Reply<T: Sendable>: @unchecked Sendable {
        // @unchecked: written before `ready.post`, read after `ready.wait`.
        var value: T?
        let ready = Semaphore()
    }
    private struct State {
        var nextID: UInt64 = 1
        var waiting: [UInt64: Waiter] = [:]
        var lost: SystemError?
    }

    private let socket: Int32
    private let state = Mutex(State())
    private let log: @Sendable (String) -> Void
    /// Called once when the parent is gone (on the reading thread).
    private let lost: @Sendable () -> Void
    /// New fault rules from the parent (on the reading thread).
    private let faults: @Sendable (String) -> Void

    init(
        socket: Int32, log: @escaping @Sendable (String) -> Void,
        faults: @escaping @Sendable (String) -> Void = { _ in },
        lost: @escaping @Sendable () -> Void = {}
    ) {
        self.socket = socket
        self.log = log
        self.faults = faults
        self.lost = lost
    }

    func start() throws(SystemError) {
        _ = try SystemThread.start(name: "smtpd-store", detached: true) { [self] in read() }
    }

    private static func gone() -> SystemError {
        SystemError("deliver", "delivery side", errno: EPIPE)
    }

    /// Opens the files of a transaction: their descriptors, one per distinct stored form.
    /// Blocks for the parent's answer.
    func begin(sender: ReversePath, recipients: [AcceptedRecipient]) -> (
        id: UInt64, result: Result<[Int32], SystemError>
    ) {
        let reply = Reply<Result<[Int32], SystemError>>()
        let id = state.withLock { state -> UInt64? in
            guard state.lost == nil else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.waiting[id] = .begin(reply, [])
            return id
        }
        guard let id else { return (0, .failure(Self.gone())) }
        let record = SplitRecord.begin(
            id: id, sender: Self.address(sender), recipients: Self.recipients(recipients))
        let packet: [UInt8]
        do {
            packet = try record.encoded()
        } catch {
            // Too big for one record (a huge recipient list): refused, temporarily.
            state.withLock { _ = $0.waiting.removeValue(forKey: id) }
            return (id, .failure(SystemError("deliver", "BEGIN: \(error)", errno: EMSGSIZE)))
        }
        do {
            try send(packet)
        } catch {
            state.withLock { _ = $0.waiting.removeValue(forKey: id) }
            return (id, .failure(Self.gone()))
        }
        reply.ready.wait()
        return (id, reply.value ?? .failure(Self.gone()))
    }

    /// Asks the parent to make transaction `id` durable; `completion` runs on the reading
    /// thread with the parent's answer.
    func commit(
        id: UInt64, contentBytes: UInt64,
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        let registered = state.withLock { state -> Bool in
            guard state.lost == nil else { return false }
            state.waiting[id] = .commit(completion)
            return true
        }
        guard registered else { return completion(.failure(Self.gone())) }
        sendOrFail(SplitRecord.commit(id: id, contentBytes: contentBytes), id: id)
    }

    /// Sends a message whole (`DELIVER`) without waiting; `completion` runs on the reading
    /// thread with the parent's answer. False, and nothing sent, when the record would be
    /// too big: the caller streams it instead.
    func deliver(
        sender: ReversePath, recipients: [AcceptedRecipient], content: [UInt8],
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) -> Bool {
        let id = state.withLock { state -> UInt64? in
            guard state.lost == nil else { return nil }
            let id = state.nextID
            state.nextID += 1
            return id
        }
        guard let id else {
            completion(.failure(Self.gone()))
            return true
        }
        let record = SplitRecord.deliver(
            id: id, sender: Self.address(sender), recipients: Self.recipients(recipients),
            content: content)
        guard let packet = try? record.encoded() else { return false }
        state.withLock { $0.waiting[id] = .commit(completion) }
        do {
            try send(packet)
        } catch {
            if let waiter = state.withLock({ $0.waiting.removeValue(forKey: id) }) {
                Self.fail(waiter, Self.gone())
            }
        }
        return true
    }

    private static func address(_ sender: ReversePath) -> SplitAddress? {
        if case .address(let address) = sender {
            return SplitAddress(localPart: address.localPart, domain: address.domain)
        }
        return nil
    }

    private static func recipients(_ recipients: [AcceptedRecipient]) -> [SplitRecipient] {
        recipients.map {
            SplitRecipient(
                address: SplitAddress(localPart: $0.address.localPart, domain: $0.address.domain),
                original: $0.original, action: $0.route.action)
        }
    }

    func abort(id: UInt64) {
        guard let packet = try? SplitRecord.abort(id: id).encoded() else { return }
        _ = try? send(packet)
    }

    /// Checks system-user credentials with the parent. Blocks for its answer.
    func authenticate(user: [UInt8], password: [UInt8]) -> SplitAuthResult {
        let reply = Reply<SplitAuthResult>()
        let id = state.withLock { state -> UInt64? in
            guard state.lost == nil else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.waiting[id] = .auth(reply)
            return id
        }
        guard let id else { return .temporaryFailure }
        sendOrFail(SplitRecord.auth(id: id, user: user, password: password), id: id)
        reply.ready.wait()
        return reply.value ?? .temporaryFailure
    }

    /// Has the parent create the transcript file `name` in its directory: a write-only
    /// descriptor. Blocks for the answer (on the transcript recorder's thread).
    func transcriptFile(named name: String) -> Result<Int32, SystemError> {
        let reply = Reply<Result<Int32, SystemError>>()
        let id = state.withLock { state -> UInt64? in
            guard state.lost == nil else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.waiting[id] = .file(reply)
            return id
        }
        guard let id else { return .failure(Self.gone()) }
        sendOrFail(SplitRecord.transcript(id: id, name: name), id: id)
        reply.ready.wait()
        return reply.value ?? .failure(Self.gone())
    }

    private func sendOrFail(_ record: SplitRecord, id: UInt64) {
        let failure: SystemError
        do {
            try send(try record.encoded())
            return
        } catch let error as SplitWireError {
            failure = SystemError("deliver", "\(error)", errno: EMSGSIZE)
        } catch {
            failure = Self.gone()
        }
        if let waiter = state.withLock({ $0.waiting.removeValue(forKey: id) }) {
            Self.fail(waiter, failure)
        }
    }

    private func send(_ packet: [UInt8]) throws(SystemError) {
        try DescriptorPassing.send(socket, packet)
    }

    private func read() {
        while true {
            let message: DescriptorPassing.Message
            do {
                message = try DescriptorPassing.receive(
                    socket, maximumBytes: SplitRecord.maximumBytes,
                    maximumDescriptors: DescriptorPassing.maximumDescriptors)
            } catch {
                log("warn: network side: \(error) from the delivery side")
                break
            }
            if message.isEndOfFile { break }
            do {
                try handle(SplitRecord(decoding: message.bytes), message.descriptors)
            } catch {
                for fd in message.descriptors { closeDescriptor(fd) }
                log("warn: network side: \(error) from the delivery side")
                break
            }
        }
        let waiting = state.withLock { state -> [Waiter] in
            state.lost = Self.gone()
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for waiter in waiting { Self.fail(waiter, Self.gone()) }
        lost()
    }

    private func handle(_ record: SplitRecord, _ descriptors: [Int32]) throws(SplitWireError) {
        if case .faults(let text) = record {
            guard descriptors.isEmpty else { throw .invalidValue(field: "descriptors") }
            faults(text)
            return
        }
        let waiter = state.withLock { $0.waiting.removeValue(forKey: record.id) }
        switch (record, waiter) {
        case (.opened(let id, let files, let more), .begin(let reply, let earlier)?):
            guard files == descriptors.count else {
                for fd in earlier { closeDescriptor(fd) }
                reply.value = .failure(SystemError("deliver", "OPENED", errno: EPROTO))
                reply.ready.post()
                throw .invalidValue(field: "descriptor count")
            }
            if more {
                state.withLock { $0.waiting[id] = .begin(reply, earlier + descriptors) }
                return
            }
            reply.value = .success(earlier + descriptors)
            reply.ready.post()
            return
        case (.opened(_, let files, let more), .file(let reply)?):
            // The caller closes what arrived when this throws.
            guard files == 1, descriptors.count == 1, !more else {
                reply.value = .failure(SystemError("transcript", "OPENED", errno: EPROTO))
                reply.ready.post()
                throw .invalidValue(field: "descriptor count")
            }
            reply.value = .success(descriptors[0])
            reply.ready.post()
            return
        case (.failed(_, let operation, let object, let errno), let waiter?):
            guard descriptors.isEmpty else {
                Self.fail(waiter, SystemError("deliver", "answer", errno: EPROTO))
                throw .invalidValue(field: "descriptors")
            }
            Self.fail(waiter, SystemError(operation, object.isEmpty ? nil : object, errno: errno))
            return
        case (.committed(_, let paths), .commit(let completion)?):
            guard descriptors.isEmpty else {
                completion(.failure(SystemError("deliver", "answer", errno: EPROTO)))
                throw .invalidValue(field: "descriptors")
            }
            completion(.success(paths))
            return
        case (.authed(_, let result), .auth(let reply)?):
            guard descriptors.isEmpty else {
                reply.value = .temporaryFailure
                reply.ready.post()
                throw .invalidValue(field: "descriptors")
            }
            reply.value = result
            reply.ready.post()
            return
        default:
            if let waiter { Self.fail(waiter, SystemError("deliver", "answer", errno: EPROTO)) }
            throw .invalidValue(field: "answer to transaction \(record.id)")
        }
    }

    private static func fail(_ waiter: Waiter, _ error: SystemError) {
        switch waiter {
        case .begin(let reply, let earlier):
            for fd in earlier { closeDescriptor(fd) }
            reply.value = .failure(error)
            reply.ready.post()
        case .commit(let completion):
            completion(.failure(error))
        case .auth(let reply):
            reply.value = .temporaryFailure
            reply.ready.post()
        case .file(let reply):
            reply.value = .failure(error)
            reply.ready.post()
        }
    }
}

/// The network side's store: its messages go into files the parent opened
/// (`SplitClient.begin`), written through the descriptors passed; the parent makes them
/// durable and answers. What `SessionHandler` sees is the same `MessageStore`.
struct RemoteStore: MessageStore {
    let client: SplitClient
    /// Where a message taken whole but too big for one DELIVER record is streamed instead:
    /// `deliver` runs on a loop, which must not wait for the parent's OPENED.
    let fallback = StreamWriter()

    /// Relayed recipients stay on the network side (`RelayingStore` keeps them for the
    /// queue; one that came here would be refused by the parent). `maildir "/dev/null"` stores nothing: discarded here, with no round trip
    /// (the network side answers its clients anyway: its word that a message is to be
    /// discarded costs nothing).
    func intake(for recipients: [AcceptedRecipient]) -> MessageIntake {
        if recipients.contains(where: \.route.relays) { return .whole }
        if recipients.allSatisfy({ $0.route.mailbox == MaildirStore.discardPath }) {
            return .discarded
        }
        return .streamed
    }

    func beginStream(_ envelope: MessageEnvelope) -> (any MessageStream)? {
        guard intake(for: envelope.recipients) == .streamed else { return nil }
        let (id, result) = client.begin(sender: envelope.sender, recipients: envelope.recipients)
        switch result {
        case .success(let descriptors):
            return RemoteStream(client: client, id: id, descriptors: descriptors, failure: nil)
        case .failure(let error):
            return RemoteStream(client: client, id: id, descriptors: [], failure: error)
        }
    }

    /// A message taken whole (a short one, or discarded): one DELIVER record, or for one
    /// too big for a record a stream on the fallback thread. Returns at once.
    func deliver(
        _ message: Message, completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        switch intake(for: message.recipients) {
        case .discarded:
            completion(.success([]))
            return
        case .whole:
            completion(.failure(SystemError("queue", "relay", errno: ENOSYS)))
            return
        case .streamed:
            break
        }
        if client.deliver(
            sender: message.sender, recipients: message.recipients, content: message.content,
            completion: completion)
        {
            return
        }
        let store = self
        fallback.run {
            guard let stream = store.beginStream(message.envelope) else {
                completion(.failure(SystemError("deliver", "stream", errno: EIO)))
                return
            }
            stream.write(message.content)
            stream.commit(completion: completion)
        }
    }

    func shutdown() { fallback.shutdown() }
}

/// One transaction of the network side: the descriptors the parent passed, written in
/// order; `commit` closes them and asks the parent, `abort` closes them and says so.
final class RemoteStream: MessageStream, @unchecked Sendable {
    // @unchecked: owned by one thread at a time (the session's StreamWriter jobs).
    private let client: SplitClient
    private let id: UInt64
    private var descriptors: [Int32]
    private var failure: SystemError?
    private var written: UInt64 = 0
    private var finished = false
    /// The parent holds the transaction open (its BEGIN succeeded).
    private let opened: Bool

    init(client: SplitClient, id: UInt64, descriptors: [Int32], failure: SystemError?) {
        self.client = client
        self.id = id
        self.descriptors = descriptors
        self.failure = failure
        opened = failure == nil
    }

    deinit { if !finished { abort() } }

    func write(_ bytes: [UInt8]) {
        guard failure == nil, !finished, !bytes.isEmpty else { return }
        for (index, fd) in descriptors.enumerated() {
            do {
                try FileSystem.writeAll(fd, [bytes], path: "tmp file \(index) of \(id)")
            } catch {
                failure = error
                return
            }
        }
        written += UInt64(bytes.count)
    }

    func commit(completion: @escaping @Sendable (Result<[String], SystemError>) -> Void) {
        guard !finished else { return }
        finished = true
        closeAll()
        if let failure {
            if opened { client.abort(id: id) }
            completion(.failure(failure))
            return
        }
        client.commit(id: id, contentBytes: written, completion: completion)
    }

    func abort() {
        guard !finished else { return }
        finished = true
        closeAll()
        // A BEGIN the parent refused left nothing open there.
        if opened { client.abort(id: id) }
    }

    private func closeAll() {
        for fd in descriptors { closeDescriptor(fd) }
        descriptors = []
    }
}
