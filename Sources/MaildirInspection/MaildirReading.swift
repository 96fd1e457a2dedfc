import Glibc
import LinuxSystem
import MaildirDelivery

extension Maildir {
    /// Every message in `new/` and `cur/`, oldest first. Names starting with "." are not
    /// messages (maildir(5)); nor is anything that is not a regular file (see ``problems()``).
    /// A file that vanishes while listing (a reader moved it) is left out.
    public func messages() throws(SystemError) -> [MaildirMessage] {
        var messages: [MaildirMessage] = []
        for folder in MaildirFolder.allCases {
            let folderPath = path(of: folder)
            for name in try FileSystem.directoryEntries(folderPath) where !name.hasPrefix(".") {
                let path = folderPath + "/" + name
                let info: stat
                do {
                    info = try FileSystem.status(path)
                } catch  where error.errno == ENOENT {
                    continue
                }
                guard info.st_mode & S_IFMT == S_IFREG else { continue }
                messages.append(
                    MaildirMessage(
                        name: name, folder: folder, path: path, size: Int64(info.st_size),
                        mtime: Int64(info.st_mtim.tv_sec),
                        mtimeNanoseconds: Int(info.st_mtim.tv_nsec)))
            }
        }
        return messages.sorted(by: MaildirMessage.isOlder)
    }

    /// The bytes of `message`. If a mail reader has meanwhile moved it from `new/` to `cur/`
    /// (adding an info), the moved file is read.
    public func read(_ message: MaildirMessage) throws(SystemError) -> [UInt8] {
        do {
            return try FileSystem.readFile(message.path)
        } catch  where error.errno == ENOENT && message.folder == .new {
            let prefix = message.uniqueName + ":"
            let moved = (try? FileSystem.directoryEntries(cur))?.first { $0.hasPrefix(prefix) }
            guard let moved else { throw error }
            return try FileSystem.readFile(cur + "/" + moved)
        }
    }

    /// A tmp/ name smtpd keeps for a delivered file until a flush has made its new/ name
    /// durable (docs/DURABILITY.md, "The protocol", step 4): the same file as `new/NAME`.
    /// Not a problem: it goes within a flush round.
    private func isDeliveredTwin(_ name: String) -> Bool {
        guard let twin = try? FileSystem.linkStatus(tmp + "/" + name), twin.st_nlink > 1,
            let delivered = try? FileSystem.linkStatus(
                new + "/" + Maildir.deliveredName(ofTemporary: name))
        else { return false }
        return delivered.st_ino == twin.st_ino && delivered.st_dev == twin.st_dev
    }

    /// What is wrong with this Maildir, for inspection; empty for a healthy one.
    /// Does not change anything.
    public func problems() -> [MaildirProblem] {
        var problems: [MaildirProblem] = []
        var folderNames: [MaildirFolder: [String]] = [:]
        for (folder, path) in [("tmp", tmp), ("new", new), ("cur", cur)] {
            let names: [String]
            do {
                names = try FileSystem.directoryEntries(path).filter { !$0.hasPrefix(".") }.sorted()
            } catch {
                let kind: MaildirProblem.Kind =
                    error.errno == ENOTDIR ? .notAFolder : .missingFolder
                problems.append(MaildirProblem(kind: kind, path: path, detail: error.description))
                continue
            }
            if folder == "tmp" {
                for name in names where !isDeliveredTwin(name) {
                    problems.append(MaildirProblem(kind: .temporaryFile, path: path + "/" + name))
                }
            } else if let folder = MaildirFolder(rawValue: folder) {
                folderNames[folder] = names
            }
        }
        for (folder, names) in folderNames.sorted(by: { $0.key < $1.key }) {
            for name in names {
                problems += Self.problems(of: name, in: folder, path: path(of: folder) + "/" + name)
            }
        }
        let unique = { (name: String) in
            name.split(separator: ":", maxSplits: 1).first.map(String.init) ?? name
        }
        let inNew = Set((folderNames[.new] ?? []).map(unique))
        for name in folderNames[.cur] ?? [] where inNew.contains(unique(name)) {
            problems.append(MaildirProblem(kind: .duplicate, path: cur + "/" + name))
        }
        return problems
    }

    func path(of folder: MaildirFolder) -> String {
        switch folder {
        case .new: new
        case .cur: cur
        }
    }

    private static func problems(
        of name: String, in folder: MaildirFolder, path: String
    ) -> [MaildirProblem] {
        let info: stat
        do {
            info = try FileSystem.status(path)
        } catch {
            return [MaildirProblem(kind: .unreadable, path: path, detail: error.description)]
        }
        if info.st_mode & S_IFMT != S_IFREG {
            return [MaildirProblem(kind: .notARegularFile, path: path)]
        }
        var problems: [MaildirProblem] = []
        if info.st_size == 0 { problems.append(MaildirProblem(kind: .emptyMessage, path: path)) }
        let (messageInfo, flags) = MaildirMessage.parseInfo(name)
        let hasInfo = name.contains(":")
        switch folder {
        case .new where hasInfo:
            problems.append(MaildirProblem(kind: .infoInNew, path: path))
        case .cur where !hasInfo:
            problems.append(MaildirProblem(kind: .missingInfo, path: path))
        case .cur where !messageInfo.hasPrefix("2,"):
            problems.append(MaildirProblem(kind: .badFlags, path: path, detail: messageInfo))
        case .cur where !isValidFlags(flags):
            problems.append(MaildirProblem(kind: .badFlags, path: path, detail: flags))
        default:
            break
        }
        return problems
    }

    /// maildir(5): flags are letters in ASCII order, each at most once.
    static func isValidFlags(_ flags: String) -> Bool {
        let bytes = Array(flags.utf8)
        let letters = bytes.allSatisfy {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
        }
        return letters && zip(bytes, bytes.dropFirst()).allSatisfy { $0 < $1 }
    }
}

/// Something wrong with a Maildir, found by ``Maildir/problems()``.
public struct MaildirProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// tmp/, new/ or cur/ does not exist (or cannot be listed).
        case missingFolder = "missing folder"
        /// tmp/, new/ or cur/ is not a folder.
        case notAFolder = "not a folder"
        /// A file in tmp/: an interrupted delivery (removed at the next server start).
        case temporaryFile = "temporary file"
        /// A folder, link to nothing, device, … in new/ or cur/.
        case notARegularFile = "not a regular file"
        case unreadable = "unreadable"
        case emptyMessage = "empty message"
        /// A name with `:info` in new/ (readers add the info when they move it to cur/).
        case infoInNew = "info in new/"
        /// A name without `:2,FLAGS` in cur/.
        case missingInfo = "no info in cur/"
        /// An info that is not `2,` followed by letters in ASCII order, each once.
        case badFlags = "bad flags"
        /// The same unique name in new/ and cur/.
        case duplicate = "duplicate"
        /// A name not of the form `<seconds>.<unique>.<host>[,S=<size>][,W=<size>]` (see
        /// ``Maildir/check(now:)``).
        case badName = "bad name"
        /// The `,S=` (or `,W=`) size in the name differs from the file.
        case sizeMismatch = "size mismatch"
        /// A folder the owner cannot use, or a folder or file anyone may write.
        case permissions = "permissions"
        /// Bare CR or NUL in the header section, or a line that is not a header field.
        case malformedHeader = "malformed header"
        /// The message ends in the middle of a line or of a multipart.
        case truncated = "truncated message"
    }

    public var kind: Kind
    public var path: String
    public var detail: String

    public init(kind: Kind, path: String, detail: String = "") {
        self.kind = kind
        self.path = path
        self.detail = detail
    }

    /// "bad flags: /m/cur/1.M1P1Q1.h:2,SR (SR)"
    public var description: String {
        detail.isEmpty ? "\(kind.rawValue): \(path)" : "\(kind.rawValue): \(path) (\(detail))"
    }
}
