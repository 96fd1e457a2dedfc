/// The DSN parameters of RFC 3461 as a transaction keeps them for the bounces the relay
/// will send: RET and ENVID from MAIL, NOTIFY and ORCPT from each RCPT. Accepted and refused
/// exactly as OpenSMTPD 6.8's `smtp_tx_mail_from`/`smtp_tx_rcpt_to` do (`ESMTPParameters`);
/// kept as the client sent them, xtext decoding (RFC 3461 §4) offered on top.

/// MAIL's RET= and ENVID=.
public struct DSNRequest: Sendable, Equatable {
    /// RET=: what a bounce returns. OpenSMTPD ignores other values, and so does MailLab.
    public enum Return: String, Sendable, Equatable {
        case headers = "HDRS"
        case full = "FULL"
    }
    public var ret: Return?
    /// ENVID= as sent (xtext), at most `SessionLimits.maxEnvelopeIDLength` bytes.
    public var envelopeID: String?

    public init(ret: Return? = nil, envelopeID: String? = nil) {
        self.ret = ret
        self.envelopeID = envelopeID
    }

    /// ENVID= with its xtext `+HH` escapes decoded; nil if absent or not valid xtext.
    public var decodedEnvelopeID: String? { envelopeID.flatMap(XText.decode) }
}

/// NOTIFY= of one recipient. Empty: the parameter was not given (RFC 3461 §4.1: then the
/// server behaves as for FAILURE, or FAILURE,DELAY).
public struct DSNNotify: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let success = DSNNotify(rawValue: 1)
    public static let failure = DSNNotify(rawValue: 2)
    public static let delay = DSNNotify(rawValue: 4)
    public static let never = DSNNotify(rawValue: 8)
}

/// NOTIFY= and ORCPT= of one recipient.
public struct RecipientDSN: Sendable, Equatable {
    public var notify: DSNNotify
    /// ORCPT= as sent: `addr-type;xtext` (`rfc822;user@example.org`).
    public var originalRecipient: String?

    public init(notify: DSNNotify = [], originalRecipient: String? = nil) {
        self.notify = notify
        self.originalRecipient = originalRecipient
    }

    /// ORCPT='s address type (`rfc822`), nil without ORCPT or without a `;`.
    public var originalRecipientType: String? {
        guard let value = originalRecipient, let semicolon = value.firstIndex(of: ";") else {
            return nil
        }
        return String(value[..<semicolon])
    }

    /// ORCPT='s address, xtext decoded; nil if absent or not valid xtext.
    public var originalRecipientAddress: String? {
        guard let value = originalRecipient else { return nil }
        let address =
            value.firstIndex(of: ";").map { value[value.index(after: $0)...] } ?? value[...]
        return XText.decode(String(address))
    }
}

/// xtext (RFC 3461 §4): printable ASCII but `+` and `=`, and `+HH` (two upper-case hex
/// digits) for anything else.
enum XText {
    static func decode(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let c = iterator.next() {
            if c == UInt8(ascii: "+") {
                guard let high = iterator.next().flatMap(hex),
                    let low = iterator.next().flatMap(hex)
                else { return nil }
                bytes.append(high << 4 | low)
            } else {
                guard c >= 0x21 && c <= 0x7E && c != UInt8(ascii: "=") else { return nil }
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension ESMTPParameters {
    /// RET= and ENVID= of parameters `checkMail` accepted (the last of each wins, as in
    /// OpenSMTPD).
    static func dsnRequest(_ parameters: [[UInt8]]) -> DSNRequest {
        var request = DSNRequest()
        for parameter in parameters {
            if ASCII.hasPrefixIgnoringCase(parameter, "RET=") {
                let value = parameter.dropFirst(4)
                if ASCII.equalsIgnoringCase(value, "HDRS") { request.ret = .headers }
                if ASCII.equalsIgnoringCase(value, "FULL") { request.ret = .full }
            } else if ASCII.hasPrefixIgnoringCase(parameter, "ENVID=") {
                request.envelopeID = ASCII.string(parameter.dropFirst(6))
            }
        }
        return request
    }

    /// NOTIFY= and ORCPT= of parameters `checkRecipient` accepted. Unknown NOTIFY words are
    /// ignored, as OpenSMTPD does.
    static func recipientDSN(_ parameters: [[UInt8]]) -> RecipientDSN {
        var dsn = RecipientDSN()
        for parameter in parameters {
            if ASCII.hasPrefixIgnoringCase(parameter, "NOTIFY=") {
                for word in parameter.dropFirst(7).split(separator: 0x2C) {
                    if ASCII.equalsIgnoringCase(word, "SUCCESS") { dsn.notify.insert(.success) }
                    if ASCII.equalsIgnoringCase(word, "FAILURE") { dsn.notify.insert(.failure) }
                    if ASCII.equalsIgnoringCase(word, "DELAY") { dsn.notify.insert(.delay) }
                    if ASCII.equalsIgnoringCase(word, "NEVER") { dsn.notify.insert(.never) }
                }
            } else if ASCII.hasPrefixIgnoringCase(parameter, "ORCPT=") {
                dsn.originalRecipient = ASCII.string(parameter.dropFirst(6))
            }
        }
        return dsn
    }
}
