/// ESMTP parameters of MAIL FROM and RCPT TO (OpenSMTPD `smtp_tx_mail_from`,
/// `smtp_tx_rcpt_to`), each refusal carrying its reply.
enum ESMTPParameters {
    /// Checks MAIL parameters in order; returns the refusal reply, or nil if all are fine.
    /// Accepted: `AUTH=` (ignored), `SIZE=`, `BODY=7BIT|8BITMIME`, `RET=`, `ENVID=`, and
    /// `SMTPUTF8` (no value) where the listener offers it. `freeStorage` (asked only for
    /// `SIZE=`): what the store can take now.
    static func checkMail(
        _ parameters: [[UInt8]], limits: SessionLimits, smtputf8: Bool = false,
        binaryMIME: Bool = false, dsn: Bool = true, eightBitMIME: Bool = true,
        freeStorage: (@Sendable () -> Int?)? = nil
    ) -> String? {
        for parameter in parameters {
            if let refusal = controlCharacterRefusal(parameter) { return refusal }
            if ASCII.hasPrefixIgnoringCase(parameter, "AUTH=") {
                continue
            } else if smtputf8 && ASCII.equalsIgnoringCase(parameter, "SMTPUTF8") {
                continue
            } else if ASCII.hasPrefixIgnoringCase(parameter, "SIZE=") {
                // Departure: OpenSMTPD parses SIZE= but neither validates nor enforces it.
                let value = parameter.dropFirst(5)
                guard !value.isEmpty, value.allSatisfy(ASCII.isDigit) else {
                    return "501 5.5.4 Invalid command arguments: Bad SIZE value"
                }
                let digits = value.drop { $0 == 0x30 }
                if digits.count > 18 || (Int(ASCII.string(digits)) ?? 0) > limits.maxMessageSize {
                    return "552 5.3.4 Message too big for system: "
                        + "Message size exceeds fixed maximum message size"
                }
                if let free = freeStorage?(), let size = Int(ASCII.string(digits)), size > free {
                    // RFC 1870 §6.1: temporarily not enough room, 452 at MAIL.
                    return "452 4.3.1 Insufficient system storage"
                }
            } else if binaryMIME && ASCII.equalsIgnoringCase(parameter, "BODY=BINARYMIME") {
                continue
            } else if ASCII.equalsIgnoringCase(parameter, "BODY=7BIT")
                || (eightBitMIME && ASCII.equalsIgnoringCase(parameter, "BODY=8BITMIME"))
            {
                continue
            } else if dsn && ASCII.hasPrefixIgnoringCase(parameter, "RET=") {
                continue
            } else if dsn && ASCII.hasPrefixIgnoringCase(parameter, "ENVID=") {
                let value = parameter.dropFirst(6)
                if value.count > limits.maxEnvelopeIDLength {
                    return "503 5.5.4 Invalid command arguments: option too large, truncated: "
                        + ASCII.replySafe(value)
                }
            } else {
                return "503 5.5.4 Invalid command arguments: Unsupported option "
                    + ASCII.replySafe(parameter)
            }
        }
        return nil
    }

    /// Checks RCPT parameters in order: `NOTIFY=` (NEVER alone), `ORCPT=`.
    /// Without `dsn` (`no-dsn`) both are unsupported options, as in OpenSMTPD.
    static func checkRecipient(_ parameters: [[UInt8]], limits: SessionLimits, dsn: Bool = true)
        -> String?
    {
        for parameter in parameters {
            if let refusal = controlCharacterRefusal(parameter) { return refusal }
            if dsn && ASCII.hasPrefixIgnoringCase(parameter, "NOTIFY=") {
                let values = parameter.dropFirst(7).split(
                    separator: 0x2C, omittingEmptySubsequences: false)
                let never = values.contains { ASCII.equalsIgnoringCase($0, "NEVER") }
                let other = values.contains {
                    ASCII.equalsIgnoringCase($0, "SUCCESS")
                        || ASCII.equalsIgnoringCase($0, "FAILURE")
                        || ASCII.equalsIgnoringCase($0, "DELAY")
                }
                if never && other {
                    return "553 NOTIFY option NEVER cannot be combined with other options"
                }
            } else if dsn && ASCII.hasPrefixIgnoringCase(parameter, "ORCPT=") {
                // 6.8 text_to_mailaddr: only the sizes of user and domain can fail.
                let value = parameter.dropFirst(6)
                let at = value.lastIndex(of: 0x40)
                let user = at.map { value[value.startIndex..<$0] } ?? value
                let domain = at.map { value[($0 + 1)...] } ?? []
                if user.count > limits.maxLocalPartLength
                    || domain.count > limits.maxDomainLength
                {
                    return "553 ORCPT address syntax error"
                }
            } else {
                return "503 Unsupported option " + ASCII.replySafe(parameter)
            }
        }
        return nil
    }

    /// Departure (hostile-input §3.3): a parameter holding control characters (CR, NUL, …)
    /// is refused, so it can never reach a line-based record. OpenSMTPD ignores it.
    private static func controlCharacterRefusal(_ parameter: [UInt8]) -> String? {
        guard parameter.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        return "501 5.5.4 Invalid command arguments: Control character in parameter"
    }
}
