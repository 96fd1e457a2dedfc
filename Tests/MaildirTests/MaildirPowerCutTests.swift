import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import MaildirDelivery
import Testing

/// The writer's own flushes, on powercut-fs with names durable only when their folder is
/// flushed (docs/DURABILITY.md): every acknowledged delivery survives a power cut, also into
/// a Maildir the writer had to make (its folders' names are flushed into their parents).
/// The fsync modes only: this process cannot be given the syncfs shim (smtpd's syncfs mode
/// is PowerCutTests' job, in SMTPServerTests).
@Suite(.serialized, .requires(.powercutFS)) struct MaildirPowerCutTests {
    @Test(arguments: [FlushMode.perFile, .batchedFsync], [false, true])
    func acknowledgedDeliveriesSurviveAPowerCut(mode: FlushMode, maildirExists: Bool) throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let backing = scratch.path + "/disk"
        let mountpoint = scratch.path + "/mnt"
        for folder in [backing, mountpoint] { mkdir(folder, 0o755) }
        // Two levels of folders to make, when the Maildir does not exist.
        let relative = "/home/user/Maildir"
        if maildirExists {
            for folder in ["/home", "/home/user", relative]
                + ["tmp", "new", "cur"].map({
                    relative + "/" + $0
                })
            {
                mkdir(backing + folder, 0o700)
            }
        }
        let mount = try PowerCutMount(
            backing: backing, mountpoint: mountpoint, metadata: "0", cutAtFlush: 0,
            log: scratch.path + "/powercut-fs.log")
        defer { mount.unmount() }

        let writer = MaildirWriter(hostname: "h", flushMode: mode)
        let count = 24
        let results = ResultBox()
        let done = DispatchSemaphore(value: 0)
        for index in 0..<count {
            writer.deliver([
                DeliveryItem(maildir: mountpoint + relative, chunks: [bytes("message \(index)\n")])
            ]) { result in
                results.set(result)
                done.signal()
            }
        }
        for _ in 0..<count { done.wait() }
        mount.powerOff()
        writer.shutdown()
        mount.unmount()

        let delivered = results.all.compactMap { try? $0.get() }.flatMap { $0 }
        #expect(delivered.count == count, "\(results.all)")
        let kept = names(in: backing + relative + "/new")
        let texts = Set(kept.compactMap { contents(of: backing + relative + "/new/" + $0) })
        #expect(
            texts == Set((0..<count).map { bytes("message \($0)\n") }),
            "\(kept.count) of \(count) in new/ after the cut; \(mount.log)")
    }
}
