import CSystem
import Glibc
import LinuxSystem
import Synchronization

/// Something registered with an event loop that wants to hear about readiness.
/// Called on the loop's thread only.
public protocol Selectable: AnyObject {
    func ready(_ readiness: Readiness)
}

/// A cancellable timer. Only the owning loop touches `isCancelled`.
public final class LoopTimer: @unchecked Sendable {
    let deadline: UInt64
    let sequence: UInt64
    /// Dropped at a cancel: a cancelled timer stays in the heap until a compaction, what
    /// it captured need not. So an owner may capture itself strongly if it cancels its
    /// timer when it ends (a fired timer is out of the heap already).
    fileprivate var callback: (() -> Void)?
    fileprivate(set) var isCancelled = false
    /// Told of a cancel, so that cancelled timers far in the future do not pile up.
    fileprivate weak var loop: EventLoop?

    init(deadline: UInt64, sequence: UInt64, callback: @escaping () -> Void) {
        self.deadline = deadline
        self.sequence = sequence
        self.callback = callback
    }

    /// Call on the loop's thread.
    public func cancel() {
        guard !isCancelled else { return }
        isCancelled = true
        callback = nil
        loop?.cancelledTimers += 1
    }
}

/// One epoll loop confined to one thread. Everything it owns is touched on that thread only;
/// other threads hand it work through `execute`, which wakes it with an eventfd only when no
/// wake-up is already pending.
public final class EventLoop: @unchecked Sendable {
    private let epoll: Epoll
    private let wakeFD: Int32
    private static let wakeToken: UInt64 = 0

    private var handlers: [UInt64: any Selectable] = [:]
    private var nextToken: UInt64 = 1
    fileprivate var timers = TimerHeap()
    /// Cancelled timers still in `timers`.
    fileprivate var cancelledTimers = 0
    private var timerSequence: UInt64 = 0
    /// Cancelled timers still in the heap. A session's timers are cancelled when it closes,
    /// minutes or an hour before their deadline: beyond half the heap, they are swept out.
    private var stopping = false

    /// Work for just before the loop blocks again (see `beforeWaiting`), and its spare
    /// buffer, swapped in each round so that the steady state allocates nothing.
    private var beforeWait: [() -> Void] = []
    private var beforeWaitSpare: [() -> Void] = []

    private let inbox = Mutex<[@Sendable () -> Void]>([])
    private let wakePending = Atomic<Bool>(false)
    /// The loop thread's pthread_self(), 0 before `run`: comparing it costs no syscall.
    private let loopThread = Atomic<UInt>(0)

    /// A scratch buffer for reads, shared by every connection of this loop so that an idle
    /// connection holds no read buffer of its own.
    let readScratch: UnsafeMutableRawBufferPointer

    public init() throws(SystemError) {
        epoll = try Epoll()
        wakeFD = try checkedCall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
        readScratch = .allocate(byteCount: 64 * 1024, alignment: 16)
        try epoll.add(wakeFD, interest: .read, token: Self.wakeToken)
    }

    deinit {
        closeDescriptor(wakeFD)
        readScratch.deallocate()
    }

    /// True when called on this loop's thread.
    public var inEventLoop: Bool { loopThread.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// Runs `work` on the loop's thread, soon. Safe from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(work) }
        // On the loop's own thread no wake-up is needed: `wakePending` alone makes the next
        // epoll_wait return at once (a delivery answered synchronously saves two syscalls).
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) && !inEventLoop {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    /// Runs `work` once on this loop, after the current round of events, timers and inbox
    /// work and before the loop waits again. Call on the loop's thread. Lets the changes of
    /// one round cost one system call: an interest switched off and on again (a delivery that
    /// answered at once) costs none, and the log lines of a round go out in one write.
    public func beforeWaiting(_ work: @escaping () -> Void) {
        assertInLoop()
        beforeWait.append(work)
    }

    private func runBeforeWaiting() {
        // Work may queue more work (a failed epoll_ctl closes a connection, which logs).
        while !beforeWait.isEmpty {
            swap(&beforeWait, &beforeWaitSpare)
            for work in beforeWaitSpare { work() }
            beforeWaitSpare.removeAll(keepingCapacity: true)
        }
    }

    /// Asks the loop to return from `run()` after the current iteration. Safe from any thread.
    public func stop() {
        execute { [self] in stopping = true }
    }

    // MARK: Loop-thread API

    /// Debug builds stop here when loop-owned state is touched off the loop's thread (before
    /// the loop runs, its creator may still set it up). Compiled out of release builds.
    @inline(__always)
    public func assertInLoop(file: StaticString = #file, line: UInt = #line) {
        assert(
            inEventLoop || loopThread.load(ordering: .relaxed) == 0,
            "event-loop state touched off the loop's thread", file: file, line: line)
    }

    /// Registers `fd`; `handler` hears about readiness until `deregister`.
    public func register(_ fd: Int32, interest: Interest, handler: any Selectable)
        throws(SystemError) -> UInt64
    {
        assertInLoop()
        let token = nextToken
        nextToken += 1
        try epoll.add(fd, interest: interest, token: token)
        handlers[token] = handler
        return token
    }

    public func reregister(_ fd: Int32, token: UInt64, interest: Interest) throws(SystemError) {
        assertInLoop()
        try epoll.modify(fd, interest: interest, token: token)
    }

    /// Stops events for `fd`. Events already fetched for its token are dropped, because a new
    /// registration never reuses a token.
    public func deregister(_ fd: Int32, token: UInt64) {
        assertInLoop()
        epoll.remove(fd)
        handlers[token] = nil
    }

    /// Calls `callback` on this loop after `nanoseconds`.
    @discardableResult
    public func schedule(after nanoseconds: UInt64, _ callback: @escaping () -> Void) -> LoopTimer {
        assertInLoop()
        timerSequence += 1
        let timer = LoopTimer(
            deadline: Clock.monotonicNanoseconds() &+ nanoseconds, sequence: timerSequence,
            callback: callback)
        timer.loop = self
        // Most timers are cancelled (a session ends before its timeouts): once they are
        // the majority, one linear pass drops them all.
        if cancelledTimers > 1024 && cancelledTimers * 2 > timers.count {
            timers.removeCancelled()
            cancelledTimers = 0
        }
        timers.push(timer)
        return timer
    }

    /// Timers in the heap (cancelled ones not yet dropped included). Call on the loop's
    /// thread.
    var pendingTimerCount: Int { timers.count }

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        loopThread.store(UInt(pthread_self()), ordering: .relaxed)
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: 256)
        defer { events.deallocate() }
        while !stopping {
            runBeforeWaiting()
            let timeout = nextTimeoutMilliseconds()
            do {
                try epoll.wait(into: events, timeoutMilliseconds: timeout) { token, readiness in
                    if token == Self.wakeToken {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeFD, &value, 8)
                    } else {
                        handlers[token]?.ready(readiness)
                    }
                }
            } catch {
                // epoll_wait fails only on programming errors (EBADF/EINVAL); stop loudly.
                fatalError("event loop: \(error)")
            }
            runExpiredTimers()
            runInbox()
        }
        runInbox()
        runBeforeWaiting()
    }

    private func nextTimeoutMilliseconds() -> Int32 {
        if wakePending.load(ordering: .relaxed) { return 0 }
        guard let next = timers.peek()?.deadline else { return -1 }
        let now = Clock.monotonicNanoseconds()
        if next <= now { return 0 }
        return Int32(min((next - now + 999_999) / 1_000_000, 60_000))
    }

    private func runExpiredTimers() {
        let now = Clock.monotonicNanoseconds()
        while let timer = timers.peek(), timer.deadline <= now {
            _ = timers.pop()
            timer.loop = nil  // out of the heap: a late cancel counts for nothing
            if timer.isCancelled {
                cancelledTimers -= 1
            } else {
                timer.callback?()
            }
        }
    }

    private func runInbox() {
        wakePending.store(false, ordering: .releasing)
        let work = inbox.withLock { queue -> [@Sendable () -> Void] in
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
        for item in work { item() }
    }
}

/// A binary min-heap of timers ordered by deadline, then by scheduling order.
struct TimerHeap {
    private var items: [LoopTimer] = []

    func peek() -> LoopTimer? { items.first }

    var count: Int { items.count }

    /// Drops every cancelled timer and restores the heap in linear time (a sort was the
    /// larger share of a session's timer costs: BENCHMARKS.md, "Third round").
    mutating func removeCancelled() {
        items.removeAll { $0.isCancelled }
        var parent = items.count / 2
        while parent > 0 {
            parent -= 1
            siftDown(parent)
        }
    }

    private static func before(_ a: LoopTimer, _ b: LoopTimer) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence
    }

    mutating func push(_ timer: LoopTimer) {
        items.append(timer)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> LoopTimer? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        siftDown(0)
        return top
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && Self.before(items[left], items[smallest]) { smallest = left }
            if right < items.count && Self.before(items[right], items[smallest]) {
                smallest = right
            }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
