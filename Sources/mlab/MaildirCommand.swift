import ArgumentParser
import Glibc
import LinuxSystem
import MaildirDelivery
import MaildirInspection

/// `mlab maildir ls|show|count|wait|check`: look into a Maildir after an exercise. The
/// work is done (and tested) in the Maildir library; this only parses options and prints.
struct MaildirCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maildir",
        abstract: "Inspect a Maildir: list, show, count, wait for and check messages.",
        subcommands: [List.self, Show.self, Count.self, Wait.self, Check.self])

    /// `--new` / `--cur`: which folders to look at (both when neither is given).
    struct FolderOptions: ParsableArguments {
        @Flag(help: "Only messages in new/.") var new = false
        @Flag(help: "Only messages in cur/.") var cur = false

        var folders: Set<MaildirFolder> {
            if new == cur { return [.new, .cur] }
            return new ? [.new] : [.cur]
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract:
                "One line per message, newest last: date (UTC), from, subject, size, flags, file.")
        @Argument(help: "The Maildir (the folder holding tmp/, new/, cur/).") var directory: String
        @OptionGroup var folderOptions: FolderOptions
        @Flag(help: "A JSON array instead of columns.") var json = false

        func run() throws {
            let entries = try Maildir(root: directory).list(folders: folderOptions.folders)
            writeStandardOutput(
                json ? MaildirListFormat.json(entries) : MaildirListFormat.text(entries))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "One message: decoded headers, text body and MIME parts.")
        @Argument(help: "The Maildir.") var directory: String
        @Argument(help: "Number as in `ls` (1 = oldest), or file name, or path.") var message:
            String
        @Flag(help: "The stored bytes, unchanged.") var raw = false
        @Flag(help: "Only the header section (with --raw: as stored).") var headers = false

        func run() throws {
            let maildir = Maildir(root: directory)
            let found = try maildir.message(message)
            let bytes = try maildir.read(found)
            if raw {
                let wanted = headers ? MaildirShow.storedHeaderSection(bytes) : bytes
                writeStandardOutput(wanted)
            } else {
                writeStandardOutput(MaildirShow.render(found, bytes: bytes, headersOnly: headers))
            }
        }
    }

    struct Count: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "count",
            abstract: "The number of messages in new/ and cur/.")
        @Argument(help: "The Maildir.") var directory: String
        @OptionGroup var folderOptions: FolderOptions

        func run() throws {
            let count = try Maildir(root: directory).count(folders: folderOptions.folders)
            writeStandardOutput("\(count)\n")
        }
    }

    struct Wait: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "wait",
            abstract: "Wait until the Maildir holds N messages (inotify); exit 1 on timeout.")
        @Argument(help: "The Maildir (it may not exist yet).") var directory: String
        @Option(help: "Messages to wait for, in new/ and cur/ together.") var count: Int
        @Option(help: "Seconds to wait at most.") var timeout: Double = 10

        func validate() throws {
            guard count >= 0 else { throw ValidationError("--count must not be negative") }
            guard timeout >= 0 && timeout.isFinite else {
                throw ValidationError("--timeout must be a number of seconds ≥ 0")
            }
        }

        func run() throws {
            let result = try Maildir(root: directory).wait(
                forCount: count, timeout: .milliseconds(Int64(timeout * 1000)))
            if result.reached {
                writeStandardOutput("\(result.count)\n")
                return
            }
            writeStandardError(
                "mlab maildir wait: timed out after \(timeout) s: \(result.count) of \(count) messages in \(directory)\n"
            )
            throw ExitCode(1)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract:
                "Structure, names, permissions, tmp/ leftovers, message content; exit 1 on problems."
        )
        @Argument(help: "The Maildir.") var directory: String

        func run() throws {
            let maildir = Maildir(root: directory)
            let problems = maildir.check(now: Clock.unixSeconds())
            writeStandardOutput(MaildirCheckReport.text(problems, maildir: maildir))
            if !problems.isEmpty { throw ExitCode(1) }
        }
    }
}

/// Unbuffered, so that `--raw` bytes and text never interleave with Swift's print buffer.
func writeStandardOutput(_ text: String) { writeToDescriptor(1, Array(text.utf8)) }
func writeStandardOutput(_ bytes: [UInt8]) { writeToDescriptor(1, bytes) }
func writeStandardError(_ text: String) { writeToDescriptor(2, Array(text.utf8)) }
