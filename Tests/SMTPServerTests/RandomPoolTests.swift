import Foundation
import Glibc
import Namespaces
import Synchronization
import Testing

@testable import SMTPServer

@Suite struct RandomPoolTests {
    /// The pool resets itself in a child made by fork. A child forked while another thread
    /// held the pool's lock (a loop thread drawing a session id) took, in the fork handler,
    /// a lock whose owner does not exist in the child: the Mutex trapped ("Unknown error
    /// occurred while attempting to acquire a Mutex") or the child hung, before `fork` even
    /// returned. An embedding program that forks (`NetworkNamespace.exec` does) while its
    /// MailServer serves lost its child.
    @Test func aChildForkedWhileAnotherThreadDrawsDoesNotHang() throws {
        _ = RandomPool.shared.next()
        let stop = Atomic<Bool>(false)
        let started = Atomic<Bool>(false)
        Thread.detachNewThread {
            while !stop.load(ordering: .relaxed) {
                _ = RandomPool.shared.next()
                started.store(true, ordering: .relaxed)
            }
        }
        defer { stop.store(true, ordering: .relaxed) }
        while !started.load(ordering: .relaxed) { usleep(1000) }
        var hung = 0
        var failed = 0
        for _ in 0..<60 {
            let pid = fork()
            if pid == 0 {
                // The child draws too: its pool must be usable, and fresh.
                _ = RandomPool.shared.next()
                _exit(0)
            }
            try #require(pid > 0)
            var status: Int32 = 0
            var exited = false
            for _ in 0..<300 {
                if waitpid(pid, &status, WNOHANG) == pid {
                    exited = true
                    break
                }
                usleep(5000)
            }
            if !exited {
                hung += 1
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            } else if status != 0 {
                failed += 1
            }
        }
        #expect(hung == 0, "children stuck in the fork handler")
        #expect(failed == 0, "children that did not exit cleanly")
    }

    /// Parent and child never hand out the same values after a fork.
    @Test func aChildDrawsOtherValuesThanItsParent() throws {
        var pipeFDs: [Int32] = [0, 0]
        try #require(pipe(&pipeFDs) == 0)
        defer { close(pipeFDs[0]) }
        _ = RandomPool.shared.next()
        let pid = fork()
        if pid == 0 {
            var value = RandomPool.shared.next()
            _ = write(pipeFDs[1], &value, 8)
            _exit(0)
        }
        close(pipeFDs[1])
        try #require(pid > 0)
        let parent = RandomPool.shared.next()
        var child: UInt64 = 0
        let count = read(pipeFDs[0], &child, 8)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(count == 8)
        #expect(child != parent)
    }
}
