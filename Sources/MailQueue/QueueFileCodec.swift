import SMTPProtocol

/// The spool file of one queued message: a text envelope, then the message as it arrived.
///
/// ```
/// maillab-queue 1
/// id 1a2b3c4d
/// created 1764763200
/// expires 1765108800
/// sender alice@gruen.lab          ("-" for <>)
/// ret FULL                        ("-" without RET=)
/// envid -
/// rcpt STATE ATTEMPTS LASTTRY NEXTTRY ACTION ADDRESS NOTIFY ORCPT LASTERROR [LASTWARNING]
/// end
/// <content>
/// ```
/// LASTWARNING (unix seconds, see `QueuedRecipient.lastWarning`) is written only once a
/// delay warning was sent, so files from before delay warnings read back unchanged.
/// Every field is one token: bytes outside printable ASCII, `%` and space are `%HH`, an
/// empty field is `-` (a literal `-` is `%2D`). Pure: bytes in, bytes out.
public enum QueueFileCodec {
    static let magic = "maillab-queue 1"

    /// Why a spool file could not be read back.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// The envelope part; the content follows it unchanged (a separate chunk, so that the
    /// message is not copied to write it).
    public static func envelope(_ message: QueuedMessage) -> [UInt8] {
        var text = magic + "\n"
        text += "id \(hex(message.id))\n"
        text += "created \(message.created)\n"
        text += "expires \(message.expires)\n"
        text += "sender \(field(message.sender.description))\n"
        text += "ret \(field(message.dsn.ret?.rawValue ?? ""))\n"
        text += "envid \(field(message.dsn.envelopeID ?? ""))\n"
        for r in message.recipients {
            let parts = [
                r.state.rawValue, String(r.attempts), String(r.lastTry), String(r.nextTry),
                field(r.action), field(r.address.description), String(r.dsn.notify.rawValue),
                field(r.dsn.originalRecipient ?? ""), field(r.lastError),
            ]
            let warned = r.lastWarning > 0 ? " \(r.lastWarning)" : ""
            text += "rcpt " + parts.joined(separator: " ") + warned + "\n"
        }
        text += "end\n"
        return Array(text.utf8)
    }

    /// The whole file.
    public static func encode(_ message: QueuedMessage, content: [UInt8]) -> [UInt8] {
        envelope(message) + content
    }

    /// The length of the envelope at the start of `prefix` (where the content begins), nil
    /// if its `end` line is not in it. No field is `end`: a space is `%20`.
    public static func envelopeLength(_ prefix: [UInt8]) -> Int? {
        let end = Array("\nend\n".utf8)
        guard prefix.count >= end.count else { return nil }
        var index = 0
        while index + end.count <= prefix.count {
            if prefix[index] == 10, prefix[index..<index + end.count].elementsEqual(end) {
                return index + end.count
            }
            index += 1
        }
        return nil
    }

    /// The envelope at the start of `bytes` (a whole file or a prefix holding the envelope)
    /// and where the content begins.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> (
        message: QueuedMessage, contentStart: Int
    ) {
        var offset = 0
        var lineNumber = 0
        func nextLine() throws(DecodeError) -> [Substring] {
            lineNumber += 1
            guard let end = bytes[offset...].firstIndex(of: 10) else {
                throw DecodeError(line: lineNumber, reason: "truncated envelope")
            }
            let line = String(decoding: bytes[offset..<end], as: UTF8.self)
            offset = end + 1
            return line.split(separator: " ", omittingEmptySubsequences: false)
        }
        func fail(_ reason: String) -> DecodeError { DecodeError(line: lineNumber, reason: reason) }
        func value(_ key: String) throws(DecodeError) -> Substring {
            let parts = try nextLine()
            guard parts.count == 2, parts[0] == key else { throw fail("expected \"\(key) …\"") }
            return parts[1]
        }
        func number(_ text: Substring) throws(DecodeError) -> Int64 {
            guard let n = Int64(text) else { throw fail("not a number: \(text)") }
            return n
        }
        guard try nextLine().joined(separator: " ") == magic else {
            throw fail("not a MailLab queue file")
        }
        guard let id = UInt32(try value("id"), radix: 16) else { throw fail("bad id") }
        let created = try number(try value("created"))
        guard created >= 0 else { throw fail("negative created time") }
        let expires = try number(try value("expires"))
        guard expires >= created else { throw fail("expires before created") }
        guard let senderText = unfield(try value("sender")) else { throw fail("bad sender") }
        let sender: ReversePath
        if senderText.isEmpty {
            sender = .null
        } else {
            guard let address = address(senderText) else { throw fail("bad sender") }
            sender = .address(address)
        }
        guard let retText = unfield(try value("ret")) else { throw fail("bad ret") }
        guard let envid = unfield(try value("envid")) else { throw fail("bad envid") }
        var dsn = DSNRequest(envelopeID: envid.isEmpty ? nil : envid)
        if !retText.isEmpty {
            guard let ret = DSNRequest.Return(rawValue: retText) else { throw fail("bad ret") }
            dsn.ret = ret
        }
        var recipients: [QueuedRecipient] = []
        while true {
            let parts = try nextLine()
            if parts == ["end"] { break }
            guard parts.count == 10 || parts.count == 11, parts[0] == "rcpt" else {
                throw fail("expected rcpt or end")
            }
            guard let state = QueuedRecipient.State(rawValue: String(parts[1])),
                let attempts = Int(parts[2]), let notify = UInt8(parts[7]),
                let action = unfield(parts[5]), let addressText = unfield(parts[6]),
                let address = address(addressText), let orcpt = unfield(parts[8]),
                let lastError = unfield(parts[9])
            else { throw fail("bad recipient") }
            let lastTry = try number(parts[3])
            let nextTry = try number(parts[4])
            let lastWarning = parts.count == 11 ? try number(parts[10]) : 0
            // A file nobody but smtpd writes should never say this; one that does is not
            // scheduled on trust (a negative count would never reach the backoff's end).
            guard attempts >= 0 else { throw fail("negative attempts") }
            guard lastTry >= 0, nextTry >= 0, lastWarning >= 0 else { throw fail("negative time") }
            guard notify & ~UInt8(15) == 0 else { throw fail("unknown NOTIFY bits") }
            guard !action.isEmpty else { throw fail("recipient without an action") }
            recipients.append(
                QueuedRecipient(
                    address: address, action: action,
                    dsn: RecipientDSN(
                        notify: DSNNotify(rawValue: notify),
                        originalRecipient: orcpt.isEmpty ? nil : orcpt),
                    state: state, attempts: attempts, lastTry: lastTry, nextTry: nextTry,
                    lastError: lastError, lastWarning: lastWarning))
        }
        guard !recipients.isEmpty else { throw fail("no recipients") }
        let message = QueuedMessage(
            id: id, sender: sender, created: created, expires: expires, dsn: dsn,
            recipients: recipients)
        return (message, offset)
    }

    static func hex(_ id: UInt32) -> String {
        let digits = String(id, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// `local@domain` split at the last `@`.
    static func address(_ text: String) -> MailAddress? {
        guard let at = text.lastIndex(of: "@"), at != text.startIndex else { return nil }
        let domain = text[text.index(after: at)...]
        guard !domain.isEmpty else { return nil }
        return MailAddress(localPart: String(text[..<at]), domain: String(domain))
    }

    static func field(_ text: String) -> String {
        if text.isEmpty { return "-" }
        var out: [UInt8] = []
        for byte in text.utf8 {
            if byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "%")
                || byte == UInt8(ascii: "-")
            {
                let digits = Array("0123456789ABCDEF".utf8)
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 15)]]
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func unfield(_ text: Substring) -> String? {
        if text == "-" { return "" }
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count,
                    let value = UInt8(
                        String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16)
                else { return nil }
                out.append(value)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
