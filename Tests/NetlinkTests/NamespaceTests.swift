import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import NamespaceTestSupport
@testable import Namespaces
import Synchronization
import Testing

@testable import Netlink

@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip))
struct NamespaceTests {
    @Test func addedNamespaceShowsInIproute2AndTheirsInOurs() throws {
        try withScratch { scratch in
            let ours = try scratch.namespace("ours")
            #expect(try iproute("netns", "list").contains(ours))
            #expect(try NetworkNamespace.list().contains(ours))

            let theirs = scratch.namespaceName("theirs")
            try iproute("netns", "add", theirs)
            #expect(try NetworkNamespace.list().contains(theirs))
            // Their namespace works with our handle: it has a loopback device.
            #expect(try NetlinkHandle(namespace: theirs).link(named: "lo").index == 1)

            try NetworkNamespace.delete(ours)
            #expect(!(try iproute("netns", "list").contains(ours)))
            #expect(!NetworkNamespace.exists(ours))
        }
    }

    @Test func addingAnExistingNamespaceFailsAndKeepsIt() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("dup")
            let error = #expect(throws: NamespaceError.self) { try NetworkNamespace.add(name) }
            #expect(error?.errno == EEXIST)
            #expect(error?.description.hasPrefix("ip netns add \(name)") == true)
            // The failed add must not have removed the existing namespace.
            #expect(NetworkNamespace.exists(name))
            #expect(try NetlinkHandle(namespace: name).link(named: "lo").name == "lo")
        }
    }

    @Test func runInNamespaceLeavesTheCallingThreadAlone() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("run")
            let before = currentThreadNamespaceInode()
            let inside = try NetworkNamespace.run(in: name) { currentThreadNamespaceInode() }
            #expect(inside != before)
            #expect(currentThreadNamespaceInode() == before)
            // Two runs land in the same namespace.
            #expect(try NetworkNamespace.run(in: name) { currentThreadNamespaceInode() } == inside)
            struct Boom: Error {}
            #expect(throws: Boom.self) { try NetworkNamespace.run(in: name) { throw Boom() } }
        }
    }

    @Test func asyncRunDoesNotMoveTheTask() async throws {
        let scratch = Scratch()
        defer { scratch.teardown() }
        let name = try scratch.namespace("async")
        let before = currentThreadNamespaceInode()
        let inside = try await NetworkNamespace.run(in: name) { currentThreadNamespaceInode() }
        #expect(inside != before)
        #expect(currentThreadNamespaceInode() == before)
    }

    @Test func execRunsAProgramInsideLikeIpNetnsExec() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("exec")
            let handle = try NetlinkHandle(namespace: name)
            let veth = scratch.interface("x")
            try handle.addVeth(veth, peer: scratch.interface("y"))
            #expect(try NetworkNamespace.exec(name, arguments: ["sh", "-c", "exit 3"]) == 3)
            // /sys is remounted: the namespace's own link is visible, the host's eth0 is not.
            #expect(
                try NetworkNamespace.exec(
                    name, arguments: ["test", "-e", "/sys/class/net/\(veth)"]) == 0)
            #expect(
                try NetworkNamespace.exec(name, arguments: ["test", "-e", "/sys/class/net/eth0"])
                    == 1)
            #expect(throws: NamespaceError.self) {
                try NetworkNamespace.exec(name, arguments: ["/nonexistent/program"])
            }
        }
    }

    /// The test process ignores SIGPIPE and its threads block signals; a program started in
    /// a namespace must not inherit either (a leaked child that ignores SIGTERM cannot be
    /// stopped politely). Its own /proc/PID/status says what it has.
    @Test func execStartsTheProgramWithNoSignalBlockedOrIgnored() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("sigs")
            let directory = try FileSystem.makeTemporaryDirectory(prefix: "mlt-sigs")
            defer { FileSystem.removeTree(directory) }
            let file = directory + "/status"
            let script = "exec grep -E '^Sig(Blk|Ign):' /proc/self/status > \(file)"
            #expect(try NetworkNamespace.exec(name, arguments: ["sh", "-c", script]) == 0)
            let lines = try String(contentsOfFile: file, encoding: .utf8)
            #expect(lines == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")
        }
    }

    @Test func forwardingIsPerNamespace() throws {
        try withScratch { scratch in
            let a = try scratch.namespace("fwa")
            let b = try scratch.namespace("fwb")
            #expect(try NetworkNamespace.forwarding(in: a) == Forwarding(ipv4: false, ipv6: false))
            try NetworkNamespace.setForwarding(Forwarding(ipv4: true, ipv6: true), in: a)
            #expect(try NetworkNamespace.forwarding(in: a) == Forwarding(ipv4: true, ipv6: true))
            #expect(try NetworkNamespace.forwarding(in: b) == Forwarding(ipv4: false, ipv6: false))
            let seen = try iproute("netns", "exec", a, "cat", "/proc/sys/net/ipv4/ip_forward")
            #expect(seen == "1\n")
        }
    }

    @Test func oneHandleServesManyTasksAndThreadsAtOnce() async throws {
        let scratch = Scratch()
        defer { scratch.teardown() }
        let name = try scratch.namespace("conc")
        let handle = try NetlinkHandle(namespace: name)
        let veth = scratch.interface("c")
        try handle.addVeth(veth, peer: scratch.interface("d"))
        let before = currentThreadNamespaceInode()
        let indexes = try await withThrowingTaskGroup(of: Int32.self) { group in
            for _ in 0..<64 { group.addTask { try handle.link(named: veth).index } }
            var found: [Int32] = []
            for try await index in group { found.append(index) }
            return found
        }
        let expected = try handle.link(named: veth).index
        #expect(indexes.count == 64)
        #expect(indexes.allSatisfy { $0 == expected })
        // The veth is only in the scratch namespace: the handle never asked the host.
        #expect(try NetlinkHandle().linkIfPresent(named: veth) == nil)
        #expect(currentThreadNamespaceInode() == before)
    }

    @Test func execBindsEtcNetnsFilesLikeIproute2() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("etc")
            let directory = "/etc/netns/\(name)"
            let madeParent = mkdir("/etc/netns", 0o755) == 0
            defer {
                unlink(directory + "/hosts")
                rmdir(directory)
                if madeParent { rmdir("/etc/netns") }
            }
            #expect(mkdir(directory, 0o755) == 0)
            let marker = "10.9.9.9 mlt-marker-\(scratch.tag)\n"
            let fd = open(directory + "/hosts", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            _ = marker.withCString { write(fd, $0, strlen($0)) }
            close(fd)
            let grep = ["grep", "-q", "mlt-marker-\(scratch.tag)", "/etc/hosts"]
            #expect(try NetworkNamespace.exec(name, arguments: grep) == 0)
            // The bind is private to the child's mount namespace: the host's /etc/hosts is unchanged.
            #expect(
                !(try String(contentsOfFile: "/etc/hosts", encoding: .utf8).contains(
                    "mlt-marker-\(scratch.tag)")))
        }
    }

    @Test func invalidNamespaceNamesAreRefusedBeforeAnythingIsCreated() throws {
        for bad in ["", "a/b", "..", String(repeating: "x", count: 300)] {
            let error = #expect(throws: NamespaceError.self) { try NetworkNamespace.add(bad) }
            #expect(error?.errno == EINVAL)
        }
        #expect(!(try NetworkNamespace.list().contains("a")))
    }
}

@Suite(.enabled(if: isRoot, "needs root"))
struct NamespaceWorkerTests {
    /// Namespaces, handles and sysctls are made by one shared thread that hops in and back;
    /// from many tasks at once, each must still land where it asked and the next hop must not
    /// inherit the previous one's namespace (nor a new namespace an `unshare` made).
    @Test func hopsFromManyTasksLandWhereAskedAndComeBack() async throws {
        let scratch = Scratch()
        defer { scratch.teardown() }
        let names = (0..<6).map { scratch.namespaceName("w\($0)") }
        let interfaces = (0..<6).map { scratch.interface("w\($0)") }
        let hostForwarding = try NetworkNamespace.forwarding(in: nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, interface) in zip(names, interfaces) {
                group.addTask {
                    try NetworkNamespace.add(name)
                    let handle = try NetlinkHandle(namespace: name)
                    try handle.addVeth(interface, peer: interface + "p")
                    try NetworkNamespace.setForwarding(.init(ipv4: true, ipv6: false), in: name)
                    // A failed hop (no such namespace) must not strand the worker.
                    #expect(throws: NetlinkError.self) {
                        try NetlinkHandle(namespace: name + "-missing")
                    }
                }
            }
            try await group.waitForAll()
        }
        let host = try NetlinkHandle()
        for (name, interface) in zip(names, interfaces) {
            let seen = try iproute("-n", name, "-o", "link", "show")
            #expect(seen.contains(" \(interface)@"))
            for other in interfaces where other != interface {
                #expect(!seen.contains(" \(other)@"))
            }
            #expect(try host.linkIfPresent(named: interface) == nil)
            #expect(try NetworkNamespace.forwarding(in: name) == .init(ipv4: true, ipv6: false))
        }
        // The host's own switches were never written by a hop that failed to come back.
        #expect(try NetworkNamespace.forwarding(in: nil) == hostForwarding)
    }
}

/// The inode of the process's (the main thread's) network namespace.
private func processNamespaceInode() -> UInt64 {
    var info = stat()
    stat("/proc/self/ns/net", &info)
    return UInt64(info.st_ino)
}

@Suite(.enabled(if: isRoot, "needs root"))
struct NamespaceWorkerStartTests {
    /// A worker is started by whichever thread first needs it. If that thread is inside
    /// another namespace (a `run(in:)` body that opens a host handle), the worker must still
    /// run `nil` jobs in the process's namespace, as `NetlinkHandle()` promises, and not in
    /// the one it inherited from the thread that created it. A private worker, so that the
    /// shared one (started by other tests) does not hide the first hop.
    @Test func aWorkerStartedFromInsideANamespaceStillRunsNilJobsAtHome() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("wstart")
            let inside = try NetworkNamespace.run(in: name) { currentThreadNamespaceInode() }
            let worker = NamespaceWorker()
            let seen = try NetworkNamespace.run(in: name) {
                var inode: UInt64 = 0
                try worker.perform(in: nil) { inode = currentThreadNamespaceInode() }
                return inode
            }
            #expect(seen != inside)
            #expect(seen == processNamespaceInode())
            // And later hops too.
            var later: UInt64 = 0
            try worker.perform(in: nil) { later = currentThreadNamespaceInode() }
            #expect(later == processNamespaceInode())
        }
    }
}

@Suite struct NamespaceWorkerFailureTests {
    /// When the worker's thread cannot be started, every job queued meanwhile must fail too.
    /// A job another thread queued while the starter was failing (it saw "running" and only
    /// posted) was left in the queue with no thread to run it: its caller waited for ever.
    /// Each caller here runs on its own thread; all of them must come back, with an error.
    @Test func jobsQueuedWhileTheWorkerFailsToStartAreNotLeftWaiting() {
        let worker = NamespaceWorker(homePath: "/nonexistent/ns/net")
        let threads = 4
        let rounds = 3_000
        let finished = Mutex(0)
        let succeeded = Mutex(0)
        for _ in 0..<threads {
            Thread.detachNewThread {
                for _ in 0..<rounds {
                    if (try? worker.perform(in: nil) {}) != nil {
                        succeeded.withLock { $0 += 1 }
                    }
                }
                finished.withLock { $0 += 1 }
            }
        }
        let deadline = Date().addingTimeInterval(20)
        while finished.withLock({ $0 }) < threads && Date() < deadline { usleep(10_000) }
        #expect(finished.withLock { $0 } == threads, "a caller is still waiting for its job")
        #expect(succeeded.withLock { $0 } == 0)
    }
}

@Suite(.enabled(if: isRoot, "needs root"))
struct NamespaceWorkerForkTests {
    /// A child made by fork has none of its parent's threads, the worker's included: its
    /// first hop must start a worker of its own instead of waiting for the parent's.
    @Test func aForkedChildGetsAWorkerOfItsOwn() throws {
        _ = try NetlinkHandle()  // the parent's worker exists and looks "running"
        let pid = fork()
        if pid == 0 {
            let ok = (try? NetlinkHandle().link(named: "lo").index) == 1
            _exit(ok ? 0 : 1)
        }
        try #require(pid > 0)
        var status: Int32 = 0
        var exited = false
        for _ in 0..<600 {
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                break
            }
            usleep(5000)
        }
        if !exited {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        #expect(exited, "the child waited for a worker thread that stayed in the parent")
        #expect(!exited || status == 0)
    }
}
