import Glibc
import LinuxSystem
import MailMessage
import MaildirDelivery

extension Maildir {
    /// The message `selector` names: a number (1 is the oldest, as in ``list(folders:)``),
    /// a file name with or without its `:2,` info, or a path to a file in this Maildir.
    public func message(_ selector: String) throws(SystemError) -> MaildirMessage {
        let all = try messages()
        if let number = Int(selector), !selector.contains(".") {
            guard number >= 1 && number <= all.count else {
                throw SystemError("find message", root + " #" + selector, errno: ENOENT)
            }
            return all[number - 1]
        }
        let name = selector.split(separator: "/").last.map(String.init) ?? selector
        if let found = all.first(where: { $0.name == name })
            ?? all.first(where: { $0.uniqueName == name })
        {
            return found
        }
        throw SystemError("find message", root + "/" + selector, errno: ENOENT)
    }
}

/// What `mlab maildir show` prints for one message.
public enum MaildirShow {
    /// File, size and flags; the header fields unfolded and decoded; the text part decoded
    /// into UTF-8 with LF line ends; and, for MIME messages, the list of parts with type,
    /// file name and decoded size. With `headersOnly`, the first two only.
    public static func render(
        _ message: MaildirMessage, bytes: [UInt8], headersOnly: Bool = false
    ) -> String {
        let parsed = MailMessage(bytes: bytes)
        var output = "File: \(message.folder.rawValue)/\(message.name)\n"
        output += "Size: \(bytes.count) bytes"
        if !message.flags.isEmpty { output += ", flags \(message.flags)" }
        output += "\n\n"
        output += headers(parsed)
        if headersOnly { return output }
        output += "\n"
        output += body(parsed)
        if parsed.root.isMultipart || parsed.root.text == nil {
            output += "\nParts:\n" + parts(parsed)
        }
        return output
    }

    /// The header section as stored, with the blank line that ends it (`show --raw --headers`).
    public static func storedHeaderSection(_ bytes: [UInt8]) -> [UInt8] {
        Array(MailMessage(bytes: bytes).headerBytes)
    }

    /// `Name: decoded value`, one line per field, in stored order.
    public static func headers(_ message: MailMessage) -> String {
        var output = ""
        for field in message.header.fields {
            output +=
                MaildirText.visible(field.name) + ": " + MaildirText.visible(field.value) + "\n"
        }
        switch message.headerEnd {
        case .malformedLine(let line):
            output += "(header section ends at line \(line) without a blank line)\n"
        case .blankLine, .endOfData:
            break
        }
        return output
    }

    static func body(_ message: MailMessage) -> String {
        guard let part = message.textPart, let text = part.text else { return "(no text part)\n" }
        var lines = text.replacing("\r\n", with: "\n")
        if lines.isEmpty { return "(empty body)\n" }
        if !lines.hasSuffix("\n") { lines += "\n" }
        let note = part.contentType == "text/plain" ? "" : "(\(part.contentType))\n"
        return note + MaildirText.visible(lines, keepLines: true)
    }

    /// `  1    text/plain; charset=utf-8, quoted-printable, 95 bytes`, indented by depth.
    public static func parts(_ message: MailMessage) -> String {
        var output = ""
        for (number, depth, part) in message.partList {
            var line = String(repeating: "  ", count: depth + 1)
            if !number.isEmpty { line += number + "  " }
            line += part.contentType
            if let charset = part.contentTypeParameters["charset"] {
                line += "; charset=\(charset)"
            }
            if let name = part.fileName { line += " \"" + MaildirText.visible(name) + "\"" }
            if let disposition = part.disposition { line += ", \(disposition)" }
            if part.isMultipart {
                line += ", \(part.parts.count) part\(part.parts.count == 1 ? "" : "s")"
                if !part.isClosed { line += ", no closing boundary" }
            } else {
                if part.transferEncoding != "7bit" { line += ", \(part.transferEncoding)" }
                line += ", \(part.decodedBody.count) bytes"
            }
            output += line + "\n"
        }
        return output
    }
}
