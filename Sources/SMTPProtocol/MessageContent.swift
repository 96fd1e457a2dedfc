/// Why a message is refused after the final dot (the first one wins, except size).
enum MessageError: Equatable {
    /// `554 5.3.4` — more than `maxMessageSize` counted bytes.
    case tooBig
    /// `500 5.4.6` — `maxReceivedHeaders` `Received:` headers.
    case loop
    /// `550 5.7.1` — header section not followed by an empty line (§5.3), oversized header.
    case malformed

    var reply: String {
        switch self {
        case .tooBig:
            return "554 5.3.4 Message too big for system: Transaction failed, message too big"
        case .loop: return "500 5.4.6 Routing loop detected: Loop detected"
        case .malformed:
            return "550 5.7.1 Delivery not authorized, message refused: "
                + "Message is not RFC 2822 compliant"
        }
    }
}

/// Builds the stored form of a message line by line, as OpenSMTPD's `smtp_tx_dataline` with
/// its `rfc5322.c` parser (6.8):
/// - a line with a `:` starts a header (no name validation; in the first position even a
///   line starting with a space), SP/TAB continues it, the first other line ends the header
///   section and must be empty (else `.malformed`);
/// - `Bcc:` is dropped with its continuation lines;
/// - `From:`/`To:`/`Cc:` are collected with their continuation lines and every address without
///   `@` gets `@serverName` (`HeaderAddressRewriter`); the line structure is kept, as 6.8 does;
/// - `Received:` headers are counted (loop detection);
/// - at the end of the header section `Date:` and `Message-ID:` are appended if missing and
///   the listener is local.
/// Lines arrive dot-unstuffed and without line ending; every stored line ends in LF.
struct MessageContent {
    private enum State {
        case headers
        case inHeader
        case body
    }

    private enum CurrentHeader {
        case copied
        case dropped
        /// From/To/Cc: the value is gathered in `collectedValue` until the header ends.
        case collected(name: [UInt8])
    }

    /// The stored form not yet taken by `takeBytes` (all of it when nobody takes).
    private(set) var bytes: [UInt8]
    /// Bytes stored so far, taken or not: the message's size.
    private(set) var storedCount = 0
    private var state = State.headers
    private var current = CurrentHeader.copied
    private var collectedValue: [UInt8] = []
    private var receivedCount = 0
    private var hasDate = false
    private var hasMessageID = false

    let serverName: String
    private let serverNameBytes: [UInt8]
    let addDateAndMessageID: Bool
    let dateText: String
    /// The MAIL FROM address that replaces `From:` addresses (`listen … masquerade`).
    var masquerade: [UInt8]?
    /// Called at most once, for the `Message-ID:` value.
    let messageIDRandom: @Sendable () -> UInt64
    let limits: SessionLimits

    init(
        received: [UInt8], serverName: String, addDateAndMessageID: Bool, dateText: String,
        limits: SessionLimits, messageIDRandom: @escaping @Sendable () -> UInt64
    ) {
        self.bytes = received
        self.storedCount = received.count
        self.serverName = serverName
        self.serverNameBytes = Array(serverName.utf8)
        self.addDateAndMessageID = addDateAndMessageID
        self.dateText = dateText
        self.limits = limits
        self.messageIDRandom = messageIDRandom
    }

    /// One data line (already unstuffed).
    mutating func push(_ line: [UInt8]) -> MessageError? {
        switch state {
        case .body:
            append(line)
            return nil
        case .inHeader:
            if line.first == ASCII.space || line.first == ASCII.tab {
                return continueHeader(line)
            }
            endHeader()
            state = .headers
            return startHeaderOrBody(line)
        case .headers:
            return startHeaderOrBody(line)
        }
    }

    /// The final dot.
    mutating func finish() {
        switch state {
        case .body: return
        case .inHeader:
            endHeader()
            endOfHeaders()
        case .headers:
            endOfHeaders()
        }
        state = .body
    }

    private mutating func startHeaderOrBody(_ line: [UInt8]) -> MessageError? {
        guard let colon = line.firstIndex(of: ASCII.colon) else {
            endOfHeaders()
            state = .body
            guard line.isEmpty else { return .malformed }
            append([])
            return nil
        }
        let name = line[..<colon]
        guard name.count < limits.maxHeaderNameLength else { return .malformed }
        state = .inHeader
        if ASCII.equalsIgnoringCase(name, "Bcc") {
            current = .dropped
            return nil
        }
        if isAddressHeader(name) {
            current = .collected(name: Array(name))
            collectedValue = Array(line[(colon + 1)...])
            let value = collectedValue
            return value.count < limits.maxAddressHeaderLength ? nil : .malformed
        }
        current = .copied
        if ASCII.equalsIgnoringCase(name, "Received") {
            receivedCount += 1
            if receivedCount >= limits.maxReceivedHeaders { return .loop }
        } else if ASCII.equalsIgnoringCase(name, "Date") {
            hasDate = true
        } else if ASCII.equalsIgnoringCase(name, "Message-Id") {
            hasMessageID = true
        }
        append(line)
        return nil
    }

    private mutating func continueHeader(_ line: [UInt8]) -> MessageError? {
        switch current {
        case .copied:
            append(line)
        case .dropped:
            break
        case .collected:
            collectedValue.append(ASCII.lf)
            collectedValue += line
            if collectedValue.count >= limits.maxAddressHeaderLength { return .malformed }
        }
        return nil
    }

    private mutating func endHeader() {
        if case .collected(let name) = current {
            let value = HeaderAddressRewriter.appendDomain(
                to: collectedValue, domain: serverNameBytes,
                masquerade: ASCII.equalsIgnoringCase(name[...], "From") ? masquerade : nil)
            bytes += name
            bytes.append(ASCII.colon)
            bytes += value
            storedCount += name.count + 1 + value.count
            collectedValue = []
        }
        current = .copied
    }

    private mutating func endOfHeaders() {
        guard addDateAndMessageID else { return }
        if !hasDate {
            append(Array("Date: \(dateText)".utf8))
        }
        if !hasMessageID {
            let id = Hex.string(messageIDRandom(), digits: 16)
            append(Array("Message-ID: <\(id)@\(serverName)>".utf8))
        }
    }

    private func isAddressHeader(_ name: ArraySlice<UInt8>) -> Bool {
        ASCII.equalsIgnoringCase(name, "From") || ASCII.equalsIgnoringCase(name, "To")
            || ASCII.equalsIgnoringCase(name, "Cc")
    }

    private mutating func append(_ line: [UInt8]) {
        bytes += line
        bytes.append(ASCII.lf)
        storedCount += line.count + 1
    }

    /// True once the header section has ended: lines are stored as they are.
    var isInBody: Bool { state == .body }

    /// Part of a body line (BDAT without line framing), stored as it is; the line's rest and
    /// its LF come later through `push`. Only in the body, where a line is not looked at.
    mutating func appendBodyPart(_ part: ArraySlice<UInt8>) {
        bytes += part
        storedCount += part.count
    }

    /// Hands out the stored bytes so far and forgets them (streaming delivery): what stays
    /// behind is bounded by what arrives between two calls, not by the message.
    mutating func takeBytes() -> [UInt8] {
        defer { bytes = [] }
        return bytes
    }
}
