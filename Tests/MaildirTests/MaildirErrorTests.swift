import Glibc
import Maildir
import Testing

@Suite struct MaildirErrorTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let errno: Int32
        let name: String
        let temporary: Bool
        let code: String
        var testDescription: String { name }
    }

    static let table: [Row] = [
        Row(errno: ENOSPC, name: "ENOSPC", temporary: true, code: "4.3.1"),
        Row(errno: EDQUOT, name: "EDQUOT", temporary: true, code: "4.2.2"),
        Row(errno: EIO, name: "EIO", temporary: true, code: "4.3.0"),
        Row(errno: EAGAIN, name: "EAGAIN", temporary: true, code: "4.3.0"),
        Row(errno: EMFILE, name: "EMFILE", temporary: true, code: "4.3.0"),
        Row(errno: ENFILE, name: "ENFILE", temporary: true, code: "4.3.0"),
        Row(errno: ENOMEM, name: "ENOMEM", temporary: true, code: "4.3.0"),
        Row(errno: ESTALE, name: "ESTALE", temporary: true, code: "4.3.0"),
        Row(errno: ENOENT, name: "ENOENT", temporary: true, code: "4.3.0"),
        Row(errno: ESHUTDOWN, name: "ESHUTDOWN", temporary: true, code: "4.3.0"),
        Row(errno: EACCES, name: "EACCES", temporary: false, code: "5.2.0"),
        Row(errno: EPERM, name: "EPERM", temporary: false, code: "5.2.0"),
        Row(errno: EROFS, name: "EROFS", temporary: false, code: "5.2.0"),
        Row(errno: ENOTDIR, name: "ENOTDIR", temporary: false, code: "5.2.0"),
        Row(errno: EISDIR, name: "EISDIR", temporary: false, code: "5.2.0"),
        Row(errno: ELOOP, name: "ELOOP", temporary: false, code: "5.2.0"),
        Row(errno: ENAMETOOLONG, name: "ENAMETOOLONG", temporary: false, code: "5.2.0"),
        Row(errno: EFBIG, name: "EFBIG", temporary: false, code: "5.2.3"),
    ]

    @Test(arguments: table)
    func errnoMapsToStatus(row: Row) {
        let error = MaildirError(operation: "open", path: "/m/tmp/x", errno: row.errno)
        #expect(error.isTemporary == row.temporary)
        #expect(error.enhancedStatusCode == row.code)
        #expect(MaildirError.status(errno: row.errno).isTemporary == row.temporary)
    }

    @Test func descriptionNamesOperationPathAndReason() {
        let error = MaildirError(operation: "fsync", path: "/x/tmp/NAME", errno: ENOSPC)
        #expect(error.description == "fsync /x/tmp/NAME: No space left on device")
    }
}
