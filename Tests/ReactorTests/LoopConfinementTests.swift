import Glibc
import LinuxSystem
import Reactor
import Testing

@Suite struct LoopConfinementTests {
    #if DEBUG
        /// Loop-owned state (timers, registrations, connections) may only be touched on the
        /// loop's thread once it runs; a debug build stops at the first violation.
        @Test func schedulingATimerOffTheLoopThreadStopsADebugBuild() async {
            await #expect(processExitsWith: .failure) {
                let group = try EventLoopGroup(count: 1)
                let loop = group.loops[0]
                // Once this has run, the loop's thread is known.
                let running = Semaphore()
                loop.execute { running.post() }
                running.wait()
                _ = loop.schedule(after: 1_000_000) {}
            }
        }
    #endif

    @Test func schedulingOnTheLoopThreadIsFine() throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let fired = Semaphore()
        loop.execute { _ = loop.schedule(after: 1_000_000) { fired.post() } }
        fired.wait()
    }
}
