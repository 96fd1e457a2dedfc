import Glibc
import LinuxSystem
import MailMessage
import MaildirDelivery

extension Maildir {
    /// qmail's rule: a file in tmp/ untouched for 36 hours is left over, not in progress.
    public static let staleTemporaryAge: Int64 = 36 * 3600

    /// Everything ``problems()`` finds, plus: a missing root, folder permissions, message
    /// names against the Maildir conventions (including Dovecot's `,S=`/`,W=` sizes), the
    /// age of files in tmp/, and each message's content (bare CR or NUL in the header
    /// section, a header section without its blank line, a missing final line end, a
    /// multipart without closing boundary). Sorted by path. Reads, never changes anything.
    /// `now` (seconds since the epoch) judges tmp/ files stale; tests pass a fixed one.
    public func check(now: Int64) -> [MaildirProblem] {
        let rootInfo: stat
        do {
            rootInfo = try FileSystem.status(root)
        } catch {
            return [MaildirProblem(kind: .missingFolder, path: root, detail: error.description)]
        }
        guard rootInfo.st_mode & S_IFMT == S_IFDIR else {
            return [MaildirProblem(kind: .notAFolder, path: root)]
        }
        var found = Self.permissionProblems(root, rootInfo)
        for problem in problems() {
            guard problem.kind == .temporaryFile else {
                found.append(problem)
                continue
            }
            found.append(temporaryFileProblem(problem.path, now: now))
        }
        for folder in [tmp, new, cur] {
            if let info = try? FileSystem.status(folder), info.st_mode & S_IFMT == S_IFDIR {
                found += Self.permissionProblems(folder, info)
            }
        }
        for message in (try? messagesLeniently()) ?? [] {
            found += Self.nameProblems(message)
            guard message.size > 0, let bytes = try? FileSystem.readFile(message.path) else {
                continue
            }
            found += Self.contentProblems(bytes, path: message.path)
        }
        return found.sorted { ($0.path, $0.kind.rawValue) < ($1.path, $1.kind.rawValue) }
    }

    /// Messages of the folders that exist (``messages()`` gives up on a missing one).
    func messagesLeniently() throws(SystemError) -> [MaildirMessage] {
        var all: [MaildirMessage] = []
        for folder in MaildirFolder.allCases {
            all += try Maildir.folderMessages(path(of: folder), folder: folder, lenient: true)
        }
        return all.sorted(by: MaildirMessage.isOlder)
    }

    private func temporaryFileProblem(_ path: String, now: Int64) -> MaildirProblem {
        let name = String(path.dropFirst(tmp.count + 1))
        let probe = MaildirMessage(name: name, folder: .new, path: path, size: 0, mtime: 0)
        var started = probe.deliveryTime
        if started == 0, let info = try? FileSystem.status(path) {
            started = Int64(info.st_mtim.tv_sec)
        }
        let detail =
            now - started > Self.staleTemporaryAge
            ? "stale: older than 36 hours" : "recent: a delivery may be in progress"
        return MaildirProblem(kind: .temporaryFile, path: path, detail: detail)
    }

    static func permissionProblems(_ path: String, _ info: stat) -> [MaildirProblem] {
        let mode = info.st_mode & 0o7777
        let octal = "0" + String(mode, radix: 8)
        var found: [MaildirProblem] = []
        if mode & 0o700 != 0o700 {
            found.append(
                MaildirProblem(kind: .permissions, path: path, detail: "\(octal): owner needs rwx"))
        }
        if mode & 0o002 != 0 {
            found.append(
                MaildirProblem(kind: .permissions, path: path, detail: "\(octal): anyone may write")
            )
        }
        return found
    }

    /// maildir(5) names: `<seconds>.<unique>.<host>`, then Dovecot's `,KEY=VALUE` fields
    /// (`S=` file size, `W=` size with CRLF line ends), then the info (checked by
    /// ``problems()``).
    static func nameProblems(_ message: MaildirMessage) -> [MaildirProblem] {
        let unique = message.uniqueName
        let path = message.path
        func bad(_ detail: String) -> [MaildirProblem] {
            [MaildirProblem(kind: .badName, path: path, detail: detail)]
        }
        if unique.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            return bad("blank or control character")
        }
        let fields = unique.split(separator: ",", omittingEmptySubsequences: false)
        let base = fields[0].split(separator: ".", omittingEmptySubsequences: false)
        if base.count < 3 || base.contains(where: \.isEmpty) {
            return bad("not <seconds>.<unique>.<host>")
        }
        if !base[0].allSatisfy({ $0.isASCII && $0.isNumber }) {
            return bad("\(base[0]) is not a number of seconds")
        }
        var found: [MaildirProblem] = []
        for field in fields.dropFirst() {
            let pair = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, !pair[0].isEmpty, !pair[1].isEmpty else {
                return bad("field \",\(field)\" is not KEY=VALUE")
            }
            guard pair[0] == "S" || pair[0] == "W" else { continue }
            guard let expected = Int64(pair[1]) else {
                return bad("\(pair[0])=\(pair[1]) is not a size")
            }
            let actual = pair[0] == "S" ? message.size : virtualSize(path) ?? expected
            if expected != actual {
                found.append(
                    MaildirProblem(
                        kind: .sizeMismatch, path: path,
                        detail: "\(pair[0])=\(expected), file has \(actual)"))
            }
        }
        return found
    }

    /// Dovecot's virtual size: the file's size with every bare LF counted as CRLF.
    static func virtualSize(_ path: String) -> Int64? {
        guard let bytes = try? FileSystem.readFile(path) else { return nil }
        var size = Int64(bytes.count)
        for index in bytes.indices where bytes[index] == 0x0A {
            if index == 0 || bytes[index - 1] != 0x0D { size += 1 }
        }
        return size
    }

    static func contentProblems(_ bytes: [UInt8], path: String) -> [MaildirProblem] {
        let message = MailMessage(bytes: bytes)
        var found: [MaildirProblem] = []
        func add(_ kind: MaildirProblem.Kind, _ detail: String) {
            found.append(MaildirProblem(kind: kind, path: path, detail: detail))
        }
        var line = 1
        var reportedCR = false
        var reportedNUL = false
        let header = message.headerBytes
        for index in header.indices {
            let byte = header[index]
            if byte == 0 && !reportedNUL {
                add(.malformedHeader, "NUL in header section, line \(line)")
                reportedNUL = true
            }
            if byte == 0x0D && !reportedCR
                && (index + 1 == header.endIndex || header[index + 1] != 0x0A)
            {
                add(.malformedHeader, "bare CR in header section, line \(line)")
                reportedCR = true
            }
            if byte == 0x0A { line += 1 }
        }
        if case .malformedLine(let number) = message.headerEnd {
            add(
                .malformedHeader,
                "line \(number) is not a header field and no blank line precedes it")
        }
        if bytes.last != 0x0A { add(.truncated, "no line end at the end") }
        for (number, _, part) in message.partList where part.isMultipart && !part.isClosed {
            let which = number.isEmpty ? "" : " (part \(number))"
            add(.truncated, "\(part.contentType)\(which) has no closing boundary")
        }
        return found
    }
}

/// What `mlab maildir check` prints.
public enum MaildirCheckReport {
    /// One line per problem, paths relative to the Maildir root, then a count; or
    /// `ok: N messages (X new, Y cur)` for a healthy Maildir.
    public static func text(_ problems: [MaildirProblem], maildir: Maildir) -> String {
        guard !problems.isEmpty else {
            let messages = (try? maildir.messages()) ?? []
            let new = messages.filter { $0.folder == .new }.count
            return "ok: \(messages.count) messages (\(new) new, \(messages.count - new) cur)\n"
        }
        var output = ""
        for problem in problems {
            var relative = problem.path
            if relative == maildir.root {
                relative = "."
            } else if relative.hasPrefix(maildir.root + "/") {
                relative.removeFirst(maildir.root.count + 1)
            }
            let detail = problem.detail.replacing(maildir.root + "/", with: "")
            output += "\(problem.kind.rawValue): \(MaildirText.visible(relative))"
            output += detail.isEmpty ? "\n" : " (\(detail))\n"
        }
        return output + "\(problems.count) problem\(problems.count == 1 ? "" : "s")\n"
    }
}
