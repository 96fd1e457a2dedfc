import Glibc
import LinuxSystem
import Synchronization
import Testing

@testable import Reactor

/// Echoes every byte; counts what it saw.
private final class Echo: ConnectionHandler {
    let onClose: @Sendable () -> Void
    init(onClose: @escaping @Sendable () -> Void) { self.onClose = onClose }
    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        connection.write(Array(bytes))
    }
    func inputEnded(on connection: Connection) { connection.close(afterFlush: true) }
    func idle(_ connection: Connection) {
        connection.write(Array("idle\r\n".utf8))
        connection.close(afterFlush: true)
    }
    func closed(_ connection: Connection) { onClose() }
}

private func readAll(_ fd: Int32, upTo limit: Int = 1 << 24) -> [UInt8] {
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while result.count < limit {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        result.append(contentsOf: buffer[0..<n])
    }
    return result
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
    func load() -> Int { value.load(ordering: .relaxed) }
}

private func withEchoServer(
    idleNanoseconds: UInt64 = 0, _ body: (SocketAddress, Counter) throws -> Void
) throws {
    let closedCount = Counter()
    try withServing(
        loops: 2, idleNanoseconds: idleNanoseconds,
        handler: { Echo(onClose: { closedCount.value.add(1, ordering: .relaxed) }) }
    ) { address in
        try body(address, closedCount)
    }
}

@Test func echoesBytesAndClosesAfterPeerShutdown() throws {
    try withEchoServer { address, _ in
        let fd = try Socket.connect(to: address)
        defer { closeDescriptor(fd) }
        let message = Array("hello reactor\r\n".utf8)
        _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        shutdown(fd, Int32(SHUT_WR))
        #expect(readAll(fd) == message)
    }
}

@Test func largeEchoSurvivesBackpressure() throws {
    // 4 MiB through a client that only reads after writing everything: the server must stop
    // reading while its output is pending instead of buffering all of it.
    try withEchoServer { address, _ in
        let fd = try Socket.connect(to: address)
        defer { closeDescriptor(fd) }
        let payload = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let writer = try SystemThread.start(name: "writer") {
            var offset = 0
            payload.withUnsafeBytes { buffer in
                while offset < buffer.count {
                    let n = send(fd, buffer.baseAddress! + offset, buffer.count - offset, 0)
                    if n <= 0 { break }
                    offset += n
                }
            }
            shutdown(fd, Int32(SHUT_WR))
        }
        let echoed = readAll(fd)
        pthread_join(writer, nil)
        #expect(echoed.count == payload.count)
        #expect(echoed == payload)
    }
}

@Test func idleTimerFiresOnce() throws {
    try withEchoServer(idleNanoseconds: 200_000_000) { address, closed in
        let fd = try Socket.connect(to: address)
        defer { closeDescriptor(fd) }
        let start = Clock.monotonicNanoseconds()
        #expect(readAll(fd) == Array("idle\r\n".utf8))
        #expect(Clock.monotonicNanoseconds() - start >= 150_000_000)
        for _ in 0..<100 where closed.load() == 0 { usleep(10_000) }
        #expect(closed.load() == 1)
    }
}

@Test func executeRunsWorkOnTheLoopThread() throws {
    let group = try EventLoopGroup(count: 1)
    defer { group.shutdown() }
    let loop = group.loops[0]
    let results = Mutex<[Bool]>([])
    let done = Atomic<Int>(0)
    for _ in 0..<1000 {
        loop.execute {
            results.withLock { $0.append(loop.inEventLoop) }
            done.add(1, ordering: .relaxed)
        }
    }
    for _ in 0..<500 where done.load(ordering: .relaxed) < 1000 { usleep(2000) }
    #expect(done.load(ordering: .relaxed) == 1000)
    #expect(results.withLock { $0.allSatisfy { $0 } })
    #expect(!loop.inEventLoop)
}

@Test func timersFireInDeadlineOrder() throws {
    let group = try EventLoopGroup(count: 1)
    defer { group.shutdown() }
    let order = Mutex<[Int]>([])
    let loop = group.loops[0]
    loop.execute {
        for (index, delay) in [30, 10, 20, 0].enumerated() {
            loop.schedule(after: UInt64(delay) * 1_000_000) { order.withLock { $0.append(index) } }
        }
        let cancelled = loop.schedule(after: 5_000_000) { order.withLock { $0.append(99) } }
        cancelled.cancel()
    }
    for _ in 0..<200 where order.withLock({ $0.count }) < 4 { usleep(2000) }
    usleep(20_000)
    #expect(order.withLock { $0 } == [3, 1, 2, 0])
}

@Test func timerHeapPopsSorted() throws {
    var heap = TimerHeap()
    var generator = SystemRandomNumberGenerator()
    for sequence in 0..<500 {
        heap.push(
            LoopTimer(
                deadline: UInt64.random(in: 0..<1_000, using: &generator),
                sequence: UInt64(sequence), callback: {}))
    }
    var deadlines: [UInt64] = []
    while let timer = heap.pop() { deadlines.append(timer.deadline) }
    #expect(deadlines.count == 500)
    #expect(deadlines == deadlines.sorted())
}

/// Dropping the cancelled timers keeps a valid heap: the rest pops in order, none of them.
@Test func timerHeapWithoutItsCancelledTimersStillPopsInOrder() throws {
    var heap = TimerHeap()
    var generator = SystemRandomNumberGenerator()
    var timers: [LoopTimer] = []
    for sequence in 0..<2_000 {
        let timer = LoopTimer(
            deadline: UInt64.random(in: 0..<500, using: &generator), sequence: UInt64(sequence),
            callback: {})
        timers.append(timer)
        heap.push(timer)
    }
    for timer in timers.shuffled(using: &generator).prefix(1_200) { timer.cancel() }
    heap.removeCancelled()
    #expect(heap.count == 800)
    var popped: [(UInt64, UInt64)] = []
    while let timer = heap.pop() {
        #expect(!timer.isCancelled)
        popped.append((timer.deadline, timer.sequence))
    }
    #expect(popped.count == 800)
    #expect(zip(popped, popped.dropFirst()).allSatisfy { $0 <= $1 })
}

/// Sessions cancel almost every timer they set, long before its deadline: the loop's heap
/// drops them once they are the majority, so it holds the live timers and at most about as
/// many cancelled ones.
@Test func cancelledTimersDoNotPileUpInTheLoopsHeap() throws {
    let group = try EventLoopGroup(count: 1)
    defer { group.shutdown() }
    let loop = group.loops[0]
    let count = Mutex<Int?>(nil)
    loop.execute {
        var kept: [LoopTimer] = []
        for index in 0..<30_000 {
            let timer = loop.schedule(after: 3_600_000_000_000) {}
            if index % 3 == 0 { kept.append(timer) } else { timer.cancel() }
        }
        count.withLock { $0 = loop.pendingTimerCount }
        for timer in kept { timer.cancel() }
    }
    for _ in 0..<500 where count.withLock({ $0 }) == nil { usleep(2000) }
    let held = try #require(count.withLock { $0 })
    #expect(held <= 10_000 * 2 + 1, "\(held) timers held for 10,000 live ones")
}

@Test func socketAddressParsesAndFormats() {
    #expect(SocketAddress(ip: "127.0.0.1", port: 25)?.description == "127.0.0.1:25")
    #expect(SocketAddress(ip: "::1", port: 2525)?.description == "[::1]:2525")
    #expect(SocketAddress(ip: "localhost", port: 25) == nil)
    #expect(SocketAddress(ip: "300.1.1.1", port: 25) == nil)
    #expect(SocketAddress(ip: "127.0.0.5", port: 1)?.isLoopback == true)
}

@Test func listenReportsTheBoundPortAndBindErrors() throws {
    let listener = try Listener(address: SocketAddress(ip: "127.0.0.1", port: 0)!)
    defer { listener.close() }
    #expect(listener.address.port != 0)
    #expect(throws: SystemError.self) {
        _ = try Listener(address: listener.address)
    }
}
