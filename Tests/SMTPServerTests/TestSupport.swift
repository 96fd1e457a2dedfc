import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import MailLabTesting
import Reactor
import SMTPConfig
import SMTPServer
import Synchronization
import Testing

// Shared helpers for the integration tests: a blocking line client, temporary directories,
// an in-process server, the real smtpd binary as a child process, external programs.

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

let isRoot = getuid() == 0

// MARK: - Temporary directories

/// A fresh directory under /tmp, unique per call; `remove()` deletes it and everything in it.
final class TempDir: Sendable {
    let path: String

    init(_ tag: String = "smtp") throws {
        var template = Array("/tmp/mlt-\(tag)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp: errno \(errno)") }
        path = String(cString: made)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` inside the directory and returns the full path.
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }
}

// MARK: - Maildir reading

/// The files of `maildir/sub` (sorted), empty when the folder does not exist.
func maildirFiles(_ maildir: String, _ sub: String = "new") -> [String] {
    let folder = maildir + "/" + sub
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return names.sorted().map { folder + "/" + $0 }
}

func readBytes(_ path: String) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    return [UInt8](data)
}

func readText(_ path: String) -> String { String(decoding: readBytes(path), as: UTF8.self) }

/// Waits until `maildir/new` holds at least `count` files (deliveries are acknowledged only
/// after the rename, so this only matters for asynchronous checks).
func waitForFiles(_ maildir: String, count: Int, timeout: Double = 5) -> [String] {
    poll(within: timeout) {
        let files = maildirFiles(maildir)
        return files.count >= count ? files : nil
    } ?? maildirFiles(maildir)
}

// MARK: - Ports

/// A port that was free a moment ago: bind 127.0.0.1:0, read it, close.
func freePort() throws -> UInt16 {
    let (fd, bound) = try Socket.listen(on: .v4(host: "127.0.0.1", port: 0))
    closeDescriptor(fd)
    return bound.port
}

// MARK: - Line client

/// A tiny blocking TCP client that reads CRLF-terminated lines, over Glibc sockets.
/// Every read waits at most `timeout` seconds.
final class LineClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sawEOF = false

    init(host: String = "127.0.0.1", port: UInt16, timeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            // No close here: a class whose stored properties are all set runs its deinit
            // when the initializer throws, and a second close could hit a descriptor number
            // another test has reused meanwhile (a listener, seen in CI).
            throw TestFailure("connect \(host):\(port): errno \(errno)")
        }
        setTimeout(timeout)
    }

    deinit { Glibc.close(fd) }

    func setTimeout(_ seconds: Double) {
        var value = timeval(
            tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func setSendTimeout(_ seconds: Double) {
        var value = timeval(
            tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws { try send(bytes: Array(text.utf8)) }

    func send(bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw TestFailure("send: errno \(errno)") }
            offset += n
        }
    }

    /// One line including its line end (whatever ends in LF), or nil at end of stream.
    /// Throws on timeout or error.
    func readLine() throws -> String? {
        while true {
            if let lf = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[...lf])
                buffer.removeFirst(lf + 1)
                return String(decoding: line, as: UTF8.self)
            }
            if sawEOF {
                if buffer.isEmpty { return nil }
                let rest = buffer
                buffer = []
                return String(decoding: rest, as: UTF8.self)
            }
            try fill()
        }
    }

    /// The lines of one (possibly multi-line) reply, each including CRLF.
    func readReply() throws -> [String] {
        var lines: [String] = []
        while let line = try readLine() {
            lines.append(line)
            let bytes = Array(line.utf8)
            if bytes.count < 4 || bytes[3] != UInt8(ascii: "-") { return lines }
        }
        if lines.isEmpty { throw TestFailure("connection closed, no reply") }
        return lines
    }

    /// The text of a single-line reply without CRLF (convenience for dialogues).
    func command(_ line: String) throws -> String {
        try send(line + "\r\n")
        return try readReply().joined().trimmingCharacters(in: .newlines)
    }

    /// True if the server closes the connection (EOF or reset) within `seconds`, discarding
    /// nothing: any data still arriving makes it false.
    func closesWithin(_ seconds: Double) -> Bool {
        setTimeout(seconds)
        defer { setTimeout(5) }
        if !buffer.isEmpty { return false }
        if sawEOF { return true }
        var byte = [UInt8](repeating: 0, count: 1)
        let n = byte.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 1, 0) }
        if n == 0 { return true }
        if n < 0 && errno == ECONNRESET { return true }
        if n > 0 { buffer.append(byte[0]) }
        return false
    }

    /// True if nothing arrives and the connection stays open for `seconds`.
    func staysSilent(_ seconds: Double) -> Bool {
        setTimeout(seconds)
        defer { setTimeout(5) }
        if !buffer.isEmpty || sawEOF { return false }
        var byte = [UInt8](repeating: 0, count: 1)
        let n = byte.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 1, 0) }
        if n > 0 { buffer.append(byte[0]) }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    /// Half-closes (FIN) the sending side.
    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[..<n])
                return
            }
            if n == 0 {
                sawEOF = true
                return
            }
            if errno == EINTR { continue }
            if errno == ECONNRESET {
                sawEOF = true
                return
            }
            throw TestFailure(errno == EAGAIN ? "read timed out" : "recv: errno \(errno)")
        }
    }
}

// MARK: - In-process server

/// A fake user base: these names exist, nobody else does.
struct FakeUsers: UserDatabase {
    let names: Set<String>
    func user(named name: String) -> LocalUser? {
        names.contains(name) ? LocalUser(name: name, home: "/nonexistent") : nil
    }
}

/// A `MailServer` on 127.0.0.1 with a port the kernel picked, serving `vm`, with a temp
/// Maildir. `stop()` stops it and removes the directory.
final class InProcessServer {
    let directory: TempDir
    let server: MailServer
    let log = MemoryLog()
    let port: UInt16
    var maildir: String { directory.path + "/Maildir" }

    /// `config`: smtpd.conf text in which `@MAILDIR@` is the temp Maildir; its first listener
    /// is moved to port 0. nil: `MailServer.catchAll`.
    init(
        config: String? = nil, users: Set<String> = ["osdrefuser", "root"],
        configure: (inout MailServer.Options) -> Void = { _ in }
    ) throws {
        directory = try TempDir("inproc")
        var options = MailServer.Options()
        options.loops = 1
        options.serverName = "vm"
        options.users = FakeUsers(names: users)
        options.log = log.sink
        configure(&options)
        let made: MailServer
        do {
            if let config {
                let text = config.replacingOccurrences(
                    of: "@MAILDIR@", with: directory.path + "/Maildir")
                var configuration = try SMTPConfiguration.parse(
                    text, fileName: "test.conf", includeLoader: { _ in "" })
                for index in configuration.listeners.indices {
                    configuration.listeners[index].port = 0
                }
                made = try MailServer(configuration: configuration, options: options)
            } else {
                made = try MailServer.catchAll(
                    maildir: directory.path + "/Maildir", options: options)
            }
            try made.start()
        } catch {
            directory.remove()
            throw error
        }
        server = made
        port = made.addresses.first?.port ?? 0
    }

    func stop() {
        server.stop(graceSeconds: 5)
        directory.remove()
    }
}

/// The running test's `.testServer` server, under the names `InProcessServer` has.
struct TraitServer {
    let server: MailServer
    let log: MemoryLog
    let maildir: String
    var port: UInt16 { server.port }

    /// Throws outside a `.testServer` (or a `.mailServer` with a Maildir).
    static func current() throws -> TraitServer {
        guard let server = MailServer.current, let log = MailServer.currentLog,
            let maildir = MailServer.currentMaildir
        else { throw TestFailure("no .testServer trait on this test") }
        return TraitServer(server: server, log: log, maildir: maildir)
    }
}

extension Trait where Self == MailServerTrait {
    /// The `.mailServer` trait as `InProcessServer` sets servers up: serving `vm`, with only
    /// `users` as local users, `config` as smtpd.conf text (`@MAILDIR@` the temp Maildir),
    /// nil for a catch-all into the temp Maildir. Read it with `TraitServer.current()`.
    static func testServer(
        config: String? = localDeliveryConfig, users: Set<String> = ["osdrefuser", "root"],
        configure: @escaping @Sendable (inout MailServer.Options) -> Void = { _ in },
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line,
        column: Int = #column
    ) -> Self {
        let setUp: @Sendable (inout MailServer.Options) -> Void = { options in
            options.serverName = "vm"
            options.users = FakeUsers(names: users)
            configure(&options)
        }
        guard let config else { return .mailServer(store: .temporaryMaildir, configure: setUp) }
        return .mailServer(
            config: config, configure: setUp, fileID: fileID, filePath: filePath, line: line,
            column: column)
    }
}

/// The seed-style configuration with an ordinary local user, as in reference §7.1/§7.3.
let localDeliveryConfig = """
    listen on 127.0.0.1 port 2525
    action "local" maildir "@MAILDIR@"
    match from any for local action "local"
    """

/// The same on the reference's limits instance (A.3).
let limitsInstanceConfig =
    localDeliveryConfig + "\nsmtp max-message-size 1000\nsmtp limit max-rcpt 2 max-mails 2\n"

/// Runs `body` with an in-process server, stopped and removed afterwards even on failure.
func withServer<T>(
    config: String? = localDeliveryConfig, users: Set<String> = ["osdrefuser", "root"],
    configure: (inout MailServer.Options) -> Void = { _ in },
    _ body: (InProcessServer) async throws -> T
) async throws -> T {
    let server = try InProcessServer(config: config, users: users, configure: configure)
    defer { server.stop() }
    return try await body(server)
}

// MARK: - The real smtpd binary

/// Where `swift build` put smtpd (suites that run it say `.requires(.smtpd)`).
let smtpdPath = ExternalTool.smtpd.path

/// A finished program: exit status (or 128+signal) and its output.
struct ProgramResult {
    var status: Int32
    var output: String
    var errorOutput: String
}

/// Runs `path` with `arguments` to completion (killed after `timeout` s), as from a shell.
func runProgram(
    _ path: String, _ arguments: [String], input: String? = nil, timeout: Double = 20
) throws -> ProgramResult {
    let child = try ChildProcess(
        path, arguments, input: input.map { Data($0.utf8) }, output: .capture, errors: .capture)
    let finished = child.communicate(timeout: timeout)
    if finished.timedOut {
        throw TestFailure("\(path) \(arguments) did not finish within \(timeout) s")
    }
    return ProgramResult(
        status: finished.status, output: String(decoding: finished.output, as: UTF8.self),
        errorOutput: String(decoding: finished.errors, as: UTF8.self))
}

/// The real smtpd running as a child (`-d`, log captured), on a free port of 127.0.0.1
/// unless the configuration says otherwise. Always `stop()` it (kills by pid, waits).
final class SmtpdProcess {
    private(set) var process: ChildProcess?
    private(set) var logPath = ""
    private(set) var port: UInt16 = 0
    var pid: Int32 { process?.pid ?? -1 }

    /// The process that serves the sessions: a root smtpd's network side (its child, as
    /// `_maillab`: docs/PRIVILEGES.md), else smtpd itself. What memory and privilege
    /// checks look at.
    var sessionPID: Int32 { networkSidePID ?? pid }

    /// The network side's pid while there is one (nil: one process, or none running yet).
    var networkSidePID: Int32? {
        guard pid > 0 else { return nil }
        let children = readText("/proc/\(pid)/task/\(pid)/children")
        return children.split(separator: " ").compactMap { Int32($0) }.first
    }

    /// `config` is written to `directory/smtpd.conf` after `@PORT@` is replaced.
    /// `readyHost`: where to probe until the server accepts (nil: do not wait). Without a
    /// `port`, a free one is picked, and picked again if another process took it meanwhile.
    init(
        config: String, directory: TempDir, port fixedPort: UInt16? = nil,
        extraArguments: [String] = ["-T", "smtp"],
        readyHost: String? = "127.0.0.1", environment: [String: String] = [:]
    ) throws {
        for attempt in 1...3 {
            port = try fixedPort ?? freePort()
            let configPath = try directory.write(
                "smtpd-\(port).conf", config.replacingOccurrences(of: "@PORT@", with: String(port)))
            logPath = directory.path + "/smtpd-\(port)-\(UInt32.random(in: 0...UInt32.max)).log"
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            // Its own control socket unless the test names one: never /var/run/smtpd.sock,
            // and never another smtpd's (several in one directory may share a port, each in
            // a namespace of its own): named after this run's log.
            let control =
                extraArguments.contains("-s")
                ? [] : ["-s", String(logPath.dropLast(".log".count)) + ".sock"]
            let child = try ChildProcess(
                smtpdPath, ["-d", "-f", configPath] + extraArguments + control,
                environment: environment.isEmpty
                    ? nil : ProcessInfo.processInfo.environment.merging(environment) { $1 },
                directory: directory.path, output: .file(logPath), errors: .file(logPath))
            process = child
            guard let readyHost else { return }
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline && child.isRunning {
                if logSaysListening(),
                    (try? LineClient(host: readyHost, port: port, timeout: 1)) != nil
                {
                    // That probe was a session of its own; it ends when the client goes away.
                    return
                }
                usleep(20_000)
            }
            if child.isRunning {
                stop()
                throw TestFailure("smtpd did not listen within 15 s: \(self.log)")
            }
            let status = child.kill()
            let lostThePort = self.log.contains("Address already in use")
            if fixedPort == nil && lostThePort && attempt < 3 { continue }
            throw TestFailure("smtpd exited early (\(status)): \(self.log)")
        }
        throw TestFailure("smtpd: no free port")
    }

    private func logSaysListening() -> Bool { log.contains("info: listening on") }

    var log: String { readText(logPath) }
    var isRunning: Bool { process?.isRunning ?? false }

    func signal(_ number: Int32) { process?.signal(number) }

    /// Waits for exit (at most `timeout` s); the exit status (or 128+signal), or nil if still
    /// running.
    func wait(timeout: Double = 10) -> Int32? { process?.wait(timeout: timeout) }

    /// SIGKILL by pid and reap. Idempotent.
    func stop() {
        signal(SIGKILL)
        _ = wait(timeout: 10)
    }

    /// Polls the log until it contains `text`.
    func waitForLog(_ text: String, timeout: Double = 5) -> Bool {
        eventually(within: timeout) { log.contains(text) }
    }
}

/// The seed's old-grammar configuration (reference §7.1 style) on a free port.
func seedConfig(maildir: String, listen: String = "127.0.0.1", port: String = "@PORT@") -> String {
    """
    listen on \(listen) port \(port)
    accept from any for local deliver to maildir "\(maildir)"
    """
}

// MARK: - Threads

/// Runs `count` copies of `body` on real threads (blocking I/O must not occupy the Swift
/// concurrency pool) and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}

/// Runs jobs on one dedicated thread, so blocking socket calls do not hold a thread of the
/// (2-thread, on this machine) concurrency pool.
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    init() {
        let thread = Thread { [self] in run() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func shutdown() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Runs blocking `body` on a thread of its own, inside the calling task: `#expect` in
/// `body` is attributed to the running test.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let executor = ThreadExecutor()
    defer { executor.shutdown() }
    return try await withTaskExecutorPreference(executor) {
        try await runSynchronously(body)
    }
}

/// A nonisolated async hop: it runs on the preferred task executor.
private func runSynchronously<T: Sendable>(_ body: @Sendable () throws -> T) async throws -> T {
    try body()
}
