import Glibc
import LinuxSystem
import MaildirDelivery
import SMTPProtocol
import Synchronization

/// The root parent's side of the process split (docs/PRIVILEGES.md): reads the network
/// side's records from its end of the socket pair on a thread of its own, opens the files of
/// each transaction in tmp/ through the Maildir writer (as their owners, the O_NOFOLLOW walk)
/// and passes the child write-only descriptors; on COMMIT checks the files' sizes and hands
/// them to the writer's group commit, answering from its completion (after the flush of
/// new/); a short message (DELIVER) goes to the writer whole, answered the same way; a
/// session's transcript file (TRANSCRIPT) is created by name in the parent's directory. It
/// never takes a path from the child: every recipient is routed again through
/// the action the child named. A malformed record, a descriptor from the child or end of
/// file ends the connection: open transactions are aborted, COMMITs taken are finished.
final class DeliveryService: Sendable {
    /// Routes a recipient through the named action, as the configuration does it (the
    /// parent's own `RecipientRouter`).
    typealias Route =
        @Sendable (MailAddress, _ action: String, _ sender: ReversePath) ->
        RecipientVerdict

    private struct Transaction {
        var stream: MaildirStream
        /// Each file's prefix length, in the stream's descriptor order.
        var prefixes: [Int]
    }
    private struct State {
        var transactions: [UInt64: Transaction] = [:]
        /// COMMITs, DELIVERs and AUTHs handed on and not yet answered: the socket stays open for them.
        var pending = 0
        var ended = false
        var closed = false
    }

    private let socket: Int32
    private let route: Route
    private let writer: MaildirWriter
    private let maximumContentBytes: UInt64
    private let credentials: (any CredentialChecker)?
    private let log: @Sendable (String) -> Void
    private let transcripts: TranscriptDirectory?
    private let state = Mutex(State())
    private let finished = Semaphore()
    /// Open transactions (each holding its files' descriptors) one connection may have.
    static let maximumOpenTransactions = 16_384

    /// `socket`: the parent's end, owned from now on (closed once the connection is over and
    /// every answer is sent). `maximumContentBytes`: the most a COMMIT may say was written
    /// after a file's prefix. `credentials`: the system-user check AUTH records ask for.
    /// `transcripts`: where TRANSCRIPT records create files (nil: refused).
    init(
        socket: Int32, route: @escaping Route, writer: MaildirWriter,
        maximumContentBytes: UInt64, credentials: (any CredentialChecker)?,
        transcripts: TranscriptDirectory? = nil, log: @escaping @Sendable (String) -> Void
    ) {
        self.transcripts = transcripts
        self.socket = socket
        self.route = route
        self.writer = writer
        self.maximumContentBytes = maximumContentBytes
        self.credentials = credentials
        self.log = log
    }

    /// Serves the connection on a thread of its own.
    func start() throws(SystemError) {
        _ = try SystemThread.start(name: "smtpd-delivery", detached: true) { [self] in serve() }
    }

    /// Waits until the connection has ended and every answer is sent (the socket is closed).
    func waitUntilFinished() {
        finished.wait()
        finished.post()
    }

    /// Tells the network side new fault rules (SIGHUP); false if it is gone.
    @discardableResult
    func sendFaults(_ text: String) -> Bool {
        guard let packet = try? SplitRecord.faults(text: text).encoded() else { return false }
        return send(packet)
    }

    /// The reading loop: one record at a time, until end of file or a protocol error.
    func serve() {
        while true {
            let message: DescriptorPassing.Message
            do {
                // Room for no descriptor: one from the child truncates, and is refused.
                message = try DescriptorPassing.receive(
                    socket, maximumBytes: SplitRecord.maximumBytes, maximumDescriptors: 0)
            } catch {
                log("warn: delivery service: \(error); ending the network side's connection")
                break
            }
            if message.isEndOfFile { break }
            do {
                try handle(try SplitRecord(decoding: message.bytes))
            } catch {
                log("warn: delivery service: \(error); ending the network side's connection")
                break
            }
        }
        end()
    }

    private func handle(_ record: SplitRecord) throws(SplitWireError) {
        switch record {
        case .begin(let id, let sender, let recipients):
            let (known, open) = state.withLock {
                ($0.transactions[id] != nil, $0.transactions.count)
            }
            guard !known else { throw .invalidValue(field: "transaction id (already open)") }
            guard open < Self.maximumOpenTransactions else {
                // A session has one at a time: a child with this many is flooding.
                reply(
                    .failed(
                        id: id, operation: "begin", object: "\(open) open transactions",
                        errno: EAGAIN))
                return
            }
            begin(id: id, sender: sender, recipients: recipients)
        case .commit(let id, let contentBytes):
            guard let transaction = state.withLock({ $0.transactions.removeValue(forKey: id) })
            else { throw .invalidValue(field: "transaction id (not open)") }
            commit(id: id, transaction, contentBytes: contentBytes)
        case .abort(let id):
            // A transaction whose BEGIN failed was never open: nothing to do.
            state.withLock { $0.transactions.removeValue(forKey: id) }?.stream.abort()
        case .auth(let id, let user, let password):
            authenticate(id: id, user: user, password: password)
        case .deliver(let id, let sender, let recipients, let content):
            deliver(id: id, sender: sender, recipients: recipients, content: content)
        case .transcript(let id, let name):
            createTranscript(id: id, name: name)
        case .opened, .failed, .committed, .authed, .faults:
            throw .invalidValue(field: "record type (the parent's to send)")
        }
    }

    /// Each recipient routed again through the action the child named; nil (FAILED sent)
    /// when one is not what the configuration gives.
    private func accept(id: UInt64, sender: SplitAddress?, recipients: [SplitRecipient]) -> (
        ReversePath, [AcceptedRecipient]
    )? {
        let reversePath: ReversePath =
            sender.map { .address(MailAddress(localPart: $0.localPart, domain: $0.domain)) }
            ?? .null
        var accepted: [AcceptedRecipient] = []
        accepted.reserveCapacity(recipients.count)
        for recipient in recipients {
            let address = MailAddress(
                localPart: recipient.address.localPart, domain: recipient.address.domain)
            guard case .accept(let route) = route(address, recipient.action, reversePath),
                !route.relays
            else {
                // Not what the configuration gives this address: the child's word is wrong
                // (or the user went away since RCPT). Deferred, never written.
                reply(
                    .failed(
                        id: id, operation: "route",
                        object: "<\(address)> through action \(recipient.action)",
                        errno: ENOENT))
                return nil
            }
            accepted.append(
                AcceptedRecipient(address: address, original: recipient.original, route: route))
        }
        return (reversePath, accepted)
    }

    /// A short message whole: the writer's `deliver`, as one process stores it.
    private func deliver(
        id: UInt64, sender: SplitAddress?, recipients: [SplitRecipient], content: [UInt8]
    ) {
        guard let (reversePath, accepted) = accept(id: id, sender: sender, recipients: recipients)
        else { return }
        state.withLock { $0.pending += 1 }
        let message = Message(
            id: "", sender: reversePath, recipients: accepted, content: content,
            protocolName: "")
        MaildirStore(writer: writer).deliver(message) { [self] result in
            answer(id, result)
        }
    }

    private func begin(id: UInt64, sender: SplitAddress?, recipients: [SplitRecipient]) {
        guard let (reversePath, accepted) = accept(id: id, sender: sender, recipients: recipients)
        else { return }
        let targets = MaildirStore.streamTargets(sender: reversePath, recipients: accepted)
        var prefixes: [Int] = []
        var seen: Set<StreamTarget> = []
        for target in targets where seen.insert(target).inserted {
            prefixes.append(target.prefix.count)
        }
        let stream = writer.begin(targets)
        if let failure = stream.failed {
            reply(
                .failed(
                    id: id, operation: failure.operation, object: failure.object ?? "",
                    errno: failure.errno))
            return
        }
        let descriptors = stream.descriptors
        guard descriptors.count == prefixes.count else {
            stream.abort()
            reply(
                .failed(
                    id: id, operation: "open", object: "\(descriptors.count) files",
                    errno: EMSGSIZE))
            return
        }
        state.withLock {
            $0.transactions[id] = Transaction(stream: stream, prefixes: prefixes)
        }
        // At most 253 descriptors ride on one packet: more files, more OPENED packets.
        var start = 0
        repeat {
            let end = min(descriptors.count, start + DescriptorPassing.maximumDescriptors)
            let part = Array(descriptors[start..<end])
            guard
                let packet = try? SplitRecord.opened(
                    id: id, files: part.count, more: end < descriptors.count
                ).encoded(),
                send(packet, descriptors: part)
            else {
                state.withLock { $0.transactions.removeValue(forKey: id) }?.stream.abort()
                return
            }
            start = end
        } while start < descriptors.count
    }

    private func commit(id: UInt64, _ transaction: Transaction, contentBytes: UInt64) {
        // The child wrote the same bytes into every file after its prefix: each size must say
        // so, and stay within the limit (a child that wrote more than a session may take, or
        // truncated a file, is refused, not published).
        var wrong: String?
        if contentBytes > maximumContentBytes {
            wrong = "\(contentBytes) bytes, more than \(maximumContentBytes)"
        }
        for (index, fd) in transaction.stream.descriptors.enumerated() where wrong == nil {
            let expected = UInt64(transaction.prefixes[index]) + contentBytes
            guard let info = try? FileSystem.status(fd, path: "tmp file"),
                UInt64(info.st_size) == expected
            else {
                wrong = "file \(index) is not \(expected) bytes"
                break
            }
        }
        if let wrong {
            transaction.stream.abort()
            log("warn: delivery service: COMMIT \(id): \(wrong); not stored")
            reply(.failed(id: id, operation: "commit", object: wrong, errno: EIO))
            return
        }
        state.withLock { $0.pending += 1 }
        transaction.stream.commit { [self] result in
            answer(id, result)
        }
    }

    /// COMMITTED or FAILED for a delivery the writer finished (after its flush).
    private func answer(_ id: UInt64, _ result: Result<[String], SystemError>) {
        switch result {
        case .success(let paths): reply(.committed(id: id, paths: paths))
        case .failure(let error):
            reply(
                .failed(
                    id: id, operation: error.operation, object: error.object ?? "",
                    errno: error.errno))
        }
        answered()
    }

    private func authenticate(id: UInt64, user: [UInt8], password: [UInt8]) {
        guard let credentials else {
            reply(.authed(id: id, result: .temporaryFailure))
            return
        }
        state.withLock { $0.pending += 1 }
        do {
            // A bcrypt check takes visible time: off the reading thread.
            try SystemThread.start(name: "smtpd-auth", detached: true) { [self] in
                let request = AuthenticationRequest(
                    mechanism: "PLAIN", user: user, password: password)
                let result: SplitAuthResult =
                    switch credentials.check(request) {
                    case .accepted: .accepted
                    case .rejected: .rejected
                    case .temporaryFailure: .temporaryFailure
                    }
                reply(.authed(id: id, result: result))
                answered()
            }
        } catch {
            reply(.authed(id: id, result: .temporaryFailure))
            answered()
        }
    }

    /// A transcript file for one session: created in the parent's directory by name only
    /// (a name of the recorder's shape, else refused), handed over write-only.
    private func createTranscript(id: UInt64, name: String) {
        guard let transcripts else {
            reply(
                .failed(
                    id: id, operation: "create transcript",
                    object: "no transcript directory (smtpd started without one)", errno: ENOENT))
            return
        }
        let fd: Int32
        do {
            fd = try transcripts.create(name)
        } catch {
            log("warn: delivery service: TRANSCRIPT \(id): \(error); refused")
            reply(
                .failed(
                    id: id, operation: error.operation, object: error.object ?? "",
                    errno: error.errno))
            return
        }
        defer { closeDescriptor(fd) }
        guard let packet = try? SplitRecord.opened(id: id, files: 1, more: false).encoded(),
            send(packet, descriptors: [fd])
        else {
            transcripts.remove(name)
            return
        }
    }

    private func reply(_ record: SplitRecord) {
        guard let packet = try? record.encoded() else { return }
        send(packet)
    }

    /// False when the child is gone (or the socket closed): the caller undoes what it did.
    @discardableResult
    private func send(_ packet: [UInt8], descriptors: [Int32] = []) -> Bool {
        // Sent under the lock: the socket is not closed meanwhile.
        state.withLock { state -> Bool in
            guard !state.closed else { return false }
            do {
                try DescriptorPassing.send(socket, packet, descriptors: descriptors)
                return true
            } catch {
                return false
            }
        }
    }

    private func answered() {
        let close = state.withLock { state -> Bool in
            state.pending -= 1
            return state.ended && state.pending == 0 && !state.closed
        }
        if close { closeSocket() }
    }

    /// The connection is over: open transactions are dropped, the socket closed once every
    /// COMMIT taken is answered.
    private func end() {
        let (open, close) = state.withLock { state -> ([Transaction], Bool) in
            state.ended = true
            let open = Array(state.transactions.values)
            state.transactions = [:]
            return (open, state.pending == 0)
        }
        for transaction in open { transaction.stream.abort() }
        if !open.isEmpty {
            log("info: delivery service: \(open.count) open transaction(s) aborted")
        }
        if close { closeSocket() }
    }

    private func closeSocket() {
        let first = state.withLock { state -> Bool in
            defer { state.closed = true }
            return !state.closed
        }
        guard first else { return }
        closeDescriptor(socket)
        finished.post()
    }
}

extension RecipientRouter {
    /// The route of `recipient` through the action named `name`, as `evaluate` gives it when
    /// a rule chooses that action (the action's path needs only the recipient, its user and
    /// the sender): how the delivery side checks the network side's word.
    func route(_ recipient: MailAddress, action name: String, sender: ReversePath)
        -> RecipientVerdict
    {
        guard let action = actions[name] else { return .reject }
        return route(
            recipient, with: action,
            context: RecipientContext(peer: PeerInfo(address: ""), heloName: "", sender: sender))
    }
}
