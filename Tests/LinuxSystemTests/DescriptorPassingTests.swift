import CSystem
import Glibc
import LinuxSystem
import Testing

@Suite struct DescriptorPassingTests {
    /// A pipe whose read end says whether any copy of its write end is still open anywhere:
    /// end of file only once every copy is closed.
    struct Probe {
        let read: Int32
        let write: Int32
        init() throws {
            var fds: [Int32] = [-1, -1]
            #expect(pipe(&fds) == 0)
            read = fds[0]
            write = fds[1]
            #expect(csystem_fcntl_setfl(read, O_NONBLOCK) == 0)
        }
        /// 0: end of file (no writer left); -1 with EAGAIN: a writer is still open.
        func readResult() -> Int {
            var byte: UInt8 = 0
            return Glibc.read(read, &byte, 1)
        }
    }

    @Test func aDescriptorArrivesWithTheBytesAndIsCloseOnExec() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer {
            closeDescriptor(a)
            closeDescriptor(b)
        }
        let probe = try Probe()
        defer { closeDescriptor(probe.read) }
        try DescriptorPassing.send(a, Array("open".utf8), descriptors: [probe.write])
        closeDescriptor(probe.write)

        let message = try DescriptorPassing.receive(b, maximumBytes: 64, maximumDescriptors: 4)

        #expect(message.bytes == Array("open".utf8))
        let fd = try #require(message.descriptors.first)
        #expect(message.descriptors.count == 1)
        #expect(csystem_fcntl_getfd(fd) & FD_CLOEXEC != 0)
        var byte: UInt8 = 7
        #expect(Glibc.write(fd, &byte, 1) == 1)
        var got: UInt8 = 0
        #expect(Glibc.read(probe.read, &got, 1) == 1 && got == 7)
        closeDescriptor(fd)
        #expect(probe.readResult() == 0)
    }

    @Test func moreDescriptorsThanRoomIsAnErrorAndLeavesNoneOpen() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer {
            closeDescriptor(a)
            closeDescriptor(b)
        }
        let probe = try Probe()
        defer { closeDescriptor(probe.read) }
        let copies = [probe.write, dup(probe.write), dup(probe.write)]
        try DescriptorPassing.send(a, [1], descriptors: copies)
        for fd in copies { closeDescriptor(fd) }

        #expect(throws: SystemError("recvmsg", "message truncated (descriptors)", errno: EMSGSIZE))
        {
            try DescriptorPassing.receive(b, maximumBytes: 8, maximumDescriptors: 1)
        }
        // The one that fit was closed by receive, the others by the kernel.
        #expect(probe.readResult() == 0)
    }

    @Test func aMessageLongerThanTheBufferIsAnError() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer {
            closeDescriptor(a)
            closeDescriptor(b)
        }
        try DescriptorPassing.send(a, Array(repeating: 1, count: 10))
        #expect(throws: SystemError("recvmsg", "message truncated (bytes)", errno: EMSGSIZE)) {
            try DescriptorPassing.receive(b, maximumBytes: 4)
        }
    }

    @Test func messagesKeepTheirBoundariesAndAClosedPeerIsEndOfFile() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer { closeDescriptor(b) }
        try DescriptorPassing.send(a, [1, 2])
        try DescriptorPassing.send(a, [3])
        closeDescriptor(a)
        #expect(try DescriptorPassing.receive(b, maximumBytes: 16).bytes == [1, 2])
        #expect(try DescriptorPassing.receive(b, maximumBytes: 16).bytes == [3])
        #expect(try DescriptorPassing.receive(b, maximumBytes: 16).isEndOfFile)
    }

    @Test func anEmptyMessageIsRefusedBeforeSending() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer {
            closeDescriptor(a)
            closeDescriptor(b)
        }
        #expect(throws: SystemError("sendmsg", "0 bytes, 0 descriptors", errno: EINVAL)) {
            try DescriptorPassing.send(a, [])
        }
    }
}
