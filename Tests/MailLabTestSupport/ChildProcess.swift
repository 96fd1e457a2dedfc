import Foundation
import Glibc
import LinuxSystem
import TestProcessSignals

/// A program the tests start, with the signal state of a program started from a shell.
///
/// Foundation `Process` hands the child the test runner's blocked-signal mask and ignored
/// signals; execve keeps both, so such a child may ignore SIGTERM and outlive its test. This
/// one is started by posix_spawn with an empty mask and every signal at its default (the two
/// glibc keeps for itself, 32 and 33, included: see `everySignal`). Its descriptors are
/// close-on-exec or closed in the child, so no other child holds one of its pipes open.
/// Dropping it unreaped kills it (SIGKILL) and reaps it: no test leaves it behind.
public final class ChildProcess: @unchecked Sendable {
    /// Where the child's stdout or stderr goes.
    public enum Output: Sendable {
        case null
        /// A pipe `communicate` reads.
        case capture
        /// Appended to this file, which must exist.
        case file(String)
    }

    /// The result of `communicate`.
    public struct Finished: Sendable {
        /// The exit status, or 128 + the signal that ended it.
        public let status: Int32
        public let output: Data
        public let errors: Data
        /// The time ran out: the child was killed (`status` is then 128 + SIGKILL).
        public let timedOut: Bool
    }

    public let pid: pid_t
    public let path: String
    private let lock = NSLock()
    private var reapedStatus: Int32?
    private var input: Data?
    private var inputFD: Int32
    private var outputFD: Int32
    private var errorsFD: Int32

    /// Starts `path` with `arguments` (argv[0] is `path`). `environment` nil: the test
    /// process's own. `input` nil: stdin is /dev/null; else a pipe `communicate` writes it to.
    public init(
        _ path: String, _ arguments: [String], environment: [String: String]? = nil,
        directory: String? = nil, input: Data? = nil, output: Output = .null,
        errors: Output = .null
    ) throws(SystemError) {
        self.path = path
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        var none = sigset_t()
        sigemptyset(&none)
        var every = Self.everySignal
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &every)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // Parent ends, closed by `deinit` or as `communicate` finishes with them.
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { for fd in childEnds { closeDescriptor(fd) } }
        func pipeFor(_ target: Int32, parentReads: Bool) throws(SystemError) -> Int32 {
            var ends: [Int32] = [-1, -1]
            _ = try checkedCall("pipe2") { test_spawn_pipe_cloexec(&ends) }
            let (parent, child) = parentReads ? (ends[0], ends[1]) : (ends[1], ends[0])
            parentEnds.append(parent)
            childEnds.append(child)
            let flags = try checkedCall("fcntl F_GETFL") { fcntl(parent, F_GETFL) }
            _ = try checkedCall("fcntl F_SETFL") { fcntl(parent, F_SETFL, flags | O_NONBLOCK) }
            posix_spawn_file_actions_adddup2(&actions, child, target)
            return parent
        }
        func route(_ stream: Output, _ target: Int32) throws(SystemError) -> Int32 {
            switch stream {
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
                return -1
            case .file(let file):
                posix_spawn_file_actions_addopen(
                    &actions, target, file, O_WRONLY | O_APPEND, 0)
                return -1
            case .capture:
                return try pipeFor(target, parentReads: true)
            }
        }
        do {
            if input == nil {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                inputFD = -1
            } else {
                inputFD = try pipeFor(0, parentReads: false)
            }
            outputFD = try route(output, 1)
            errorsFD = try route(errors, 2)
        } catch {
            for fd in parentEnds { closeDescriptor(fd) }
            throw error
        }
        test_spawn_close_from(&actions, 3)
        if let directory { test_spawn_chdir(&actions, directory) }
        self.input = input

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp ?? [] { free(pointer) }
        }
        var child: pid_t = 0
        let result = argv.withUnsafeBufferPointer { arguments in
            if let envp {
                return envp.withUnsafeBufferPointer { environment in
                    posix_spawn(
                        &child, path, &actions, &attributes, arguments.baseAddress!,
                        environment.baseAddress!)
                }
            }
            return posix_spawn(
                &child, path, &actions, &attributes, arguments.baseAddress!, environ)
        }
        guard result == 0 else {
            for fd in parentEnds { closeDescriptor(fd) }
            throw SystemError("posix_spawn", path, errno: result)
        }
        pid = child
    }

    deinit {
        for fd in [inputFD, outputFD, errorsFD] where fd >= 0 { closeDescriptor(fd) }
        if reapedStatus == nil {
            Glibc.kill(pid, SIGKILL)
            _ = waitBlocking()
        }
    }

    /// Signals 1…64 but SIGKILL and SIGSTOP. The bits are set directly: sigfillset and
    /// sigaddset leave out glibc's internal signals (32, 33), which posix_spawn itself resets.
    private static var everySignal: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        set.__val.0 = ~0
        sigdelset(&set, SIGKILL)
        sigdelset(&set, SIGSTOP)
        return set
    }

    /// The exit status (or 128 + signal) once it has ended; nil while it runs. Reaps it.
    public var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let reapedStatus { return reapedStatus }
        var raw: Int32 = 0
        guard let done = try? checkedCall("waitpid", path, { waitpid(pid, &raw, WNOHANG) }),
            done == pid
        else { return nil }
        reapedStatus = Self.decode(raw)
        return reapedStatus
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Sends `number` unless it has been reaped (its pid may then be another process's).
    public func signal(_ number: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if reapedStatus == nil { Glibc.kill(pid, number) }
    }

    /// Waits at most `timeout` s for it to end: its status, or nil if still running.
    public func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let status = exitStatus { return status }
            if Date() >= deadline { return nil }
            usleep(5_000)
        }
    }

    /// SIGKILL, then reap. Its status (128 + SIGKILL unless it had ended already).
    @discardableResult
    public func kill() -> Int32 {
        signal(SIGKILL)
        return waitBlocking()
    }

    private func waitBlocking() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if let reapedStatus { return reapedStatus }
        var raw: Int32 = 0
        // Only ECHILD can fail here (another waiter took it): it has ended either way.
        _ = try? checkedCall("waitpid", path) { waitpid(pid, &raw, 0) }
        reapedStatus = Self.decode(raw)
        return Self.decode(raw)
    }

    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    /// Writes the input, reads what is captured (one poll loop: neither side can stall the
    /// other) and waits for the end. After `timeout` s it is killed: `timedOut` says so.
    public func communicate(timeout: Double) -> Finished {
        let deadline = Date().addingTimeInterval(timeout)
        var output = Data()
        var errors = Data()
        var written = 0
        let pending = input ?? Data()
        if inputFD >= 0 && pending.isEmpty { closeInput() }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while inputFD >= 0 || outputFD >= 0 || errorsFD >= 0 {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return timedOut(output, errors) }
            var fds = [
                pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0),
                pollfd(fd: outputFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: errorsFD, events: Int16(POLLIN), revents: 0),
            ]
            // A negative descriptor is skipped by poll.
            let ready = poll(&fds, 3, Int32(min(left * 1000, 1000)) + 1)
            if ready <= 0 { continue }
            if fds[0].revents != 0 {
                let count = pending.withUnsafeBytes { bytes in
                    Glibc.write(inputFD, bytes.baseAddress! + written, bytes.count - written)
                }
                if count > 0 { written += count }
                // Done, or the child closed its end (EPIPE): the rest cannot be delivered.
                if written == pending.count || (count < 0 && errno != EAGAIN && errno != EINTR) {
                    closeInput()
                }
            }
            for (index, fd) in [(1, outputFD), (2, errorsFD)] where fds[index].revents != 0 {
                let count = Glibc.read(fd, &buffer, buffer.count)
                if count > 0 {
                    if index == 1 {
                        output.append(contentsOf: buffer[..<count])
                    } else {
                        errors.append(contentsOf: buffer[..<count])
                    }
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    closeDescriptor(fd)
                    if index == 1 { outputFD = -1 } else { errorsFD = -1 }
                }
            }
        }
        guard let status = wait(timeout: max(0, deadline.timeIntervalSinceNow)) else {
            return timedOut(output, errors)
        }
        return Finished(status: status, output: output, errors: errors, timedOut: false)
    }

    private func closeInput() {
        closeDescriptor(inputFD)
        inputFD = -1
    }

    private func timedOut(_ output: Data, _ errors: Data) -> Finished {
        for fd in [inputFD, outputFD, errorsFD] where fd >= 0 { closeDescriptor(fd) }
        (inputFD, outputFD, errorsFD) = (-1, -1, -1)
        return Finished(status: kill(), output: output, errors: errors, timedOut: true)
    }
}

/// The pid of a process that has exited and been reaped: a writer that is gone, for what
/// start-up recovery takes over from it.
public func exitedPID() throws -> Int32 {
    let process = try ChildProcess("/bin/true", [])
    process.kill()
    return process.pid
}
