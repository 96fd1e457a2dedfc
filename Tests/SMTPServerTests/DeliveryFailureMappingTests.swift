import Glibc
import LinuxSystem
import MaildirDelivery
import SMTPProtocol
import Testing

@testable import SMTPServer

/// The one errno → reply map of the Maildir store (`DeliveryFailure(storing:)`).
@Suite struct DeliveryFailureMappingTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let errno: Int32
        let name: String
        let reply: String
        var testDescription: String { name }
    }

    static let temporary = "451 4.3.0 Temporary failure, message not stored"
    static let unavailable = "554 5.2.0 Mailbox unavailable, message not stored"

    static let table: [Row] = [
        Row(
            errno: ENOSPC, name: "ENOSPC",
            reply: "452 4.3.1 Insufficient system storage, message not stored"),
        Row(errno: EDQUOT, name: "EDQUOT", reply: "452 4.2.2 Mailbox full, message not stored"),
        Row(errno: EIO, name: "EIO", reply: temporary),
        Row(errno: EROFS, name: "EROFS", reply: temporary),
        Row(errno: EAGAIN, name: "EAGAIN", reply: temporary),
        Row(errno: EMFILE, name: "EMFILE", reply: temporary),
        Row(errno: ENFILE, name: "ENFILE", reply: temporary),
        Row(errno: ENOMEM, name: "ENOMEM", reply: temporary),
        Row(errno: ESTALE, name: "ESTALE", reply: temporary),
        Row(errno: ENOENT, name: "ENOENT", reply: temporary),
        Row(errno: ESHUTDOWN, name: "ESHUTDOWN", reply: temporary),
        Row(errno: EACCES, name: "EACCES", reply: unavailable),
        Row(errno: EPERM, name: "EPERM", reply: unavailable),
        Row(errno: ENOTDIR, name: "ENOTDIR", reply: unavailable),
        Row(errno: EISDIR, name: "EISDIR", reply: unavailable),
        Row(errno: ELOOP, name: "ELOOP", reply: unavailable),
        Row(errno: ENAMETOOLONG, name: "ENAMETOOLONG", reply: unavailable),
        Row(errno: EFBIG, name: "EFBIG", reply: "552 5.3.4 Message too big for system"),
    ]

    @Test(arguments: table)
    func errnoMapsToOneWellFormedReply(row: Row) {
        let failure = DeliveryFailure(storing: SystemError("open", "/m/tmp/x", errno: row.errno))
        #expect("\(failure.code) \(failure.enhancedStatus) \(failure.text)" == row.reply)
        // The reply code's class and the enhanced code's class agree (RFC 3463 §2).
        #expect(failure.enhancedStatus.first == String(failure.code).first)
        #expect(failure.isTemporary == row.reply.hasPrefix("4"))
    }

    /// A refused symbolic link is ELOOP too, but temporary (unlike other ELOOPs): the user
    /// removes the link and the mail is stored on the next try.
    @Test func aRefusedSymbolicLinkIsTemporary() {
        let failure = DeliveryFailure(
            storing: SystemError(Maildir.refusedLink, "/m/tmp", errno: ELOOP))
        #expect(
            "\(failure.code) \(failure.enhancedStatus) \(failure.text)"
                == "451 4.2.0 Mailbox unavailable (symbolic link refused), message not stored")
    }
}
