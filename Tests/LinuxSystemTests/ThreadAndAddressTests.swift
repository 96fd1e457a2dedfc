import Glibc
import LinuxSystem
import Synchronization
import Testing

@Suite struct ThreadAndAddressTests {
    @Test func startedThreadsBlockEverySignalUnlessToldToInherit() throws {
        let blocked = Mutex<[Bool]>([])
        for signals in [SystemThread.Signals.blocked, .inherited] {
            let thread = try SystemThread.start(name: "mask-probe", signals: signals) {
                var mask = sigset_t()
                pthread_sigmask(SIG_BLOCK, nil, &mask)
                blocked.withLock { $0.append(sigismember(&mask, SIGTERM) == 1) }
            }
            pthread_join(thread, nil)
        }
        var own = sigset_t()
        pthread_sigmask(SIG_BLOCK, nil, &own)
        #expect(blocked.withLock { $0 } == [true, sigismember(&own, SIGTERM) == 1])
    }

    /// A detached thread may end before pthread_create returns; naming it through its
    /// pthread_t then wrote into freed memory (mlab lab check crashed one run in ~15).
    @Test func detachedThreadsThatEndAtOnceAreNamedFromInside() throws {
        let names = Mutex<[String]>([])
        let done = Semaphore()
        for _ in 0..<200 {
            try SystemThread.start(name: "short-lived-thread-name", detached: true) {
                let comm = (try? FileSystem.readFile("/proc/thread-self/comm")) ?? []
                names.withLock { $0.append(String(decoding: comm, as: UTF8.self)) }
                done.post()
            }
        }
        for _ in 0..<200 { done.wait() }
        #expect(Set(names.withLock { $0 }) == ["short-lived-thr\n"])
    }

    @Test func runReturnsTheValueAndRethrowsTheError() throws {
        #expect(try SystemThread.run(name: "run-probe") { 42 } == 42)
        struct Failure: Error {}
        #expect(throws: Failure.self) {
            try SystemThread.run(name: "run-probe") { throw Failure() }
        }
    }

    @Test(arguments: [
        SocketAddress.v4(host: "127.0.0.1", port: 25),
        .v6(host: "::1", port: 2525, scope: 0),
        .v6(host: "fe80::1", port: 25, scope: 1),
        .unix(path: "/tmp/maillab-test.sock"),
    ])
    func addressesRoundTripThroughTheKernelsSockaddr(_ address: SocketAddress) {
        let decoded = address.withSockaddr { pointer, length -> SocketAddress? in
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: Int(length)))
            }
            return SocketAddress(decoding: storage)
        }
        #expect(decoded == address)
    }

    @Test func aUnixListenerReportsItsPathAsItsLocalAddress() throws {
        let path = "/tmp/maillab-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        defer { unlink(path) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { closeDescriptor(fd) }
        let address = SocketAddress.unix(path: path)
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        #expect(bound == 0)
        #expect(try SocketAddress.local(of: fd) == address)
    }

    @Test func anIPv4PeerOfADualStackSocketIsShownAsIPv4() {
        var storage = sockaddr_storage()
        withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                address.pointee.sin6_family = sa_family_t(AF_INET6)
                address.pointee.sin6_port = UInt16(25).bigEndian
                _ = inet_pton(AF_INET6, "::ffff:10.0.0.2", &address.pointee.sin6_addr)
            }
        }
        #expect(SocketAddress(decoding: storage) == .v4(host: "10.0.0.2", port: 25))
    }

    /// The IPv4 text written by hand is inet_ntop's, octet by octet.
    @Test func ipv4PeersReadAsInetNtopWritesThem() {
        var samples: [UInt32] = [
            0, 0x7F00_0001, 0xFFFF_FFFF, 0x0A00_0002, 0x6464_6464, 0x0909_0909,
        ]
        for _ in 0..<2_000 { samples.append(UInt32.random(in: 0...UInt32.max)) }
        for value in samples {
            var storage = sockaddr_storage()
            withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    address.pointee.sin_family = sa_family_t(AF_INET)
                    address.pointee.sin_addr.s_addr = value.bigEndian
                }
            }
            var address = in_addr(s_addr: value.bigEndian)
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            _ = inet_ntop(AF_INET, &address, &text, socklen_t(INET_ADDRSTRLEN))
            let expected = String(
                decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(SocketAddress(decoding: storage)?.host == expected)
        }
    }

    @Test func theMonotonicClockAdvancesAcrossASleep() {
        let start = Clock.monotonicNanoseconds()
        Clock.sleep(seconds: 0.02)
        #expect(Clock.monotonicNanoseconds() - start >= 20_000_000)
    }
}
