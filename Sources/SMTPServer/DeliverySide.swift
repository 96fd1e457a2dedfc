import Glibc
import LinuxSystem
import MailQueue
import MaildirDelivery
import Reactor
import SMTPConfig
import SMTPProtocol
import Synchronization

/// The root parent of smtpd's process split (docs/PRIVILEGES.md): binds the listeners and the
/// control socket, starts the network side (this executable again, as `_maillab`, with the
/// sockets by number) and serves its deliveries (`DeliveryService`). It runs no session and
/// parses nothing a client sent. smtpd drives it from its main thread: `spawn` from there
/// only (the child's PR_SET_PDEATHSIG follows the thread that started it).
public final class DeliverySide: Sendable {
    private let listeners: [Listener]
    private let control = Mutex<ControlSocket?>(nil)
    private let user: SystemUser
    private let writer: MaildirWriter
    private let route: DeliveryService.Route
    private let credentials: (any CredentialChecker)?
    private let maximumContentBytes: UInt64
    private let log: LogSink
    /// Held open for the network side's TRANSCRIPT records (nil: no transcripts).
    private let transcripts: TranscriptDirectory?
    private let services = Mutex<[DeliveryService]>([])
    /// The relay queue's spool folder, readied for the network side, which runs the queue
    /// (`QueueSpool.prepare`); nil: the configuration does not relay.
    private let spool: Int32?
    /// The network side's send buffer on its socket pair.
    static let childSendBuffer: Int32 = 4 << 20

    /// Why a root smtpd with `configuration` cannot split (nil: it can): what the network
    /// side could not serve.
    static func reasonForOneProcess(_ configuration: SMTPConfiguration, plan: ServerPlan)
        -> String?
    {
        if plan.listeners.compactMap({ $0.policy as? RecipientRouter }).isEmpty {
            return "no listener routes recipients"
        }
        return nil
    }

    /// Reads what the parent needs (routes, limits, the unprivileged user), sweeps the fixed
    /// Maildirs' stale tmp/ files and binds the listeners. Starts no thread.
    public init(configuration: SMTPConfiguration, options: MailServer.Options)
        throws(ServerErrors)
    {
        let plan = try ServerPlan(configuration, options: options)
        if let reason = Self.reasonForOneProcess(configuration, plan: plan) {
            throw ServerErrors(errors: [ServerError("cannot split: \(reason)")])
        }
        do {
            user = try UnprivilegedUser.lookUp()
        } catch {
            throw ServerErrors(errors: [error])
        }
        let routers = plan.listeners.compactMap { $0.policy as? RecipientRouter }
        // An action's path needs only the recipient, its user and the sender: every
        // listener's router gives the same one.
        let router = routers[0]
        route = { address, action, sender in router.route(address, action: action, sender: sender) }
        credentials =
            plan.listeners.contains { $0.auth?.checker is SystemCredentials }
            ? SystemCredentials() : nil
        // The stored form adds a Received: header (and masquerading may rewrite From:) to
        // what the session counted against the limit.
        let limit = UInt64(plan.limits.maxMessageSize)
        maximumContentBytes = limit == 0 ? .max : limit + (1 << 20)
        log = options.log
        sweepTemporaryFiles(of: plan.fixedMaildirs, log: log)
        if plan.relayRoutes.isEmpty {
            spool = nil
        } else {
            let directory = MailServer.spoolDirectory(configuration, options: options)
            do {
                spool = try QueueSpool.prepare(
                    root: directory, owner: user.user, group: user.group, trusted: [],
                    nested: MailServer.holdsNamespaceSpools(directory))
            } catch {
                throw ServerErrors(errors: [ServerError("queue directory \(directory): \(error)")])
            }
        }
        var transcriptOptions = options
        transcriptOptions.transcripts = configuration.transcripts ?? options.transcripts
        if let settings = MailServer.transcriptSettings(transcriptOptions) {
            do throws(ServerError) {
                transcripts = try TranscriptDirectory(path: settings.directory)
            } catch {
                throw ServerErrors(errors: [error])
            }
        } else {
            transcripts = nil
        }
        let (bound, _, errors) = MailServer.bind(plan.listeners)
        guard errors.isEmpty else {
            for listener in bound { listener.close() }
            if let spool { closeDescriptor(spool) }
            throw ServerErrors(errors: errors)
        }
        listeners = bound
        // Every open transaction holds its files' descriptors here too; the child inherits
        // the raised limit.
        _ = raiseDescriptorLimit()
        writer = MaildirWriter(hostname: hostNameForFiles(), flushMode: options.flushMode)
    }

    /// Binds the control socket (as root); the network side serves it.
    public func openControl(_ settings: ControlSettings) throws(ServerError) {
        let socket = try ControlSocket.open(settings)
        control.withLock { $0 = socket }
    }

    /// Starts a network side: this executable with `arguments` (smtpd's own), its sockets
    /// by number in `MAILLAB_NETWORK_SIDE`, every signal at its default and none blocked.
    /// posix_spawn, so the child begins as a fresh process image, whatever threads this one
    /// runs (a fork would copy only the calling thread: platform-notes.md). Its deliveries
    /// are served from now on. Call on the main thread.
    public func spawn(arguments: [String]) throws(ServerError) -> pid_t {
        let (parentEnd, childEnd): (Int32, Int32)
        do {
            (parentEnd, childEnd) = try DescriptorPassing.socketPair()
        } catch {
            throw ServerError("network side: \(error)")
        }
        defer { closeDescriptor(childEnd) }
        // The child sends DELIVER records from its loops, and a send that finds the buffer
        // full waits there: room for many messages in flight (as root: SO_SNDBUFFORCE, past
        // net.core.wmem_max). Without it the default applies; a loop then waits sooner.
        var room: Int32 = Self.childSendBuffer
        _ = setsockopt(
            childEnd, SOL_SOCKET, SO_SNDBUFFORCE, &room,
            socklen_t(MemoryLayout<Int32>.size))
        let controlFD = control.withLock { $0?.descriptor }
        let sources =
            [childEnd] + (controlFD.map { [$0] } ?? []) + (spool.map { [$0] } ?? [])
            + listeners.map { $0.descriptor }
        // Each lands on 3, 4, …: through a high number first, so that no source is
        // overwritten before it is copied.
        let high: Int32 = 900
        guard sources.count < 100, sources.allSatisfy({ $0 < high }) else {
            closeDescriptor(parentEnd)
            throw ServerError("network side: too many sockets to hand over (\(sources.count))")
        }
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        for (index, fd) in sources.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, high + Int32(index))
        }
        for index in sources.indices {
            posix_spawn_file_actions_adddup2(&actions, high + Int32(index), 3 + Int32(index))
            posix_spawn_file_actions_addclose(&actions, high + Int32(index))
        }
        var none = sigset_t()
        sigemptyset(&none)
        var every = sigset_t()
        sigemptyset(&every)
        for signal in 1..<32 where signal != SIGKILL && signal != SIGSTOP {
            sigaddset(&every, Int32(signal))
        }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &every)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // 3: the socket pair, then the control socket and the spool if any, then listeners.
        var next: Int32 = 4
        func number(_ present: Bool) -> Int32? {
            guard present else { return nil }
            defer { next += 1 }
            return next
        }
        let controlNumber = number(controlFD != nil)
        let spoolNumber = number(spool != nil)
        let listenerNumbers = listeners.indices.map { next + Int32($0) }
        let value = NetworkSide.encode(
            parent: getpid(), store: 3, control: controlNumber, spool: spoolNumber,
            listeners: listenerNumbers)
        var environment: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if !text.hasPrefix(NetworkSide.environmentName + "=") { environment.append(text) }
            entry += 1
        }
        environment.append(NetworkSide.environmentName + "=" + value)
        // Its own path, not /proc/self/exe: `ps` would show the child as `exe`.
        let executable = FileSystem.currentExecutable() ?? "/proc/self/exe"
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                posix_spawn(
                    &child, executable, &actions, &attributes, argvBuffer.baseAddress!,
                    envpBuffer.baseAddress!)
            }
        }
        guard result == 0 else {
            closeDescriptor(parentEnd)
            throw ServerError(
                "network side: posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        let log = self.log
        let service = DeliveryService(
            socket: parentEnd, route: route, writer: writer,
            maximumContentBytes: maximumContentBytes, credentials: credentials,
            transcripts: transcripts, log: { log.write($0) })
        do {
            try service.start()
        } catch {
            closeDescriptor(parentEnd)
            Glibc.kill(child, SIGKILL)
            throw ServerError("network side: \(error)")
        }
        services.withLock { $0.append(service) }
        return child
    }

    /// The user the network side runs as.
    public var networkUser: String { user.name }

    /// Tells the running network side new fault rules (SIGHUP): it cannot read the file.
    public func replaceFaults(_ plan: FaultPlan?) {
        var text = ""
        if let plan, !plan.rules.isEmpty {
            text =
                (["fault seed \(plan.seed)"] + plan.rules.map(FaultStatementText.statement))
                .joined(separator: "\n") + "\n"
        }
        let current = services.withLock { $0.last }
        current?.sendFaults(text)
    }

    /// Once every network side has ended: waits for their last answers, closes the
    /// listeners and the control socket (removing it), stops the writer.
    public func stop() {
        for service in services.withLock({ $0 }) { service.waitUntilFinished() }
        for listener in listeners { listener.close() }
        control.withLock { socket in
            socket?.close()
            socket = nil
        }
        writer.shutdown()
        if let spool { closeDescriptor(spool) }
    }
}
