/// CHUNKING and BINARYMIME (RFC 3030): `BDAT n [LAST]` followed by exactly n bytes, no dot
/// stuffing, no line framing. OpenSMTPD 6.8 has neither; the replies follow its style and
/// Postfix's sequencing:
/// - BDAT outside a transaction or without an accepted recipient is refused, but its n bytes
///   are still read (RFC 3030 §2: they must never be taken for commands);
/// - DATA after a BDAT of the same transaction, and DATA after `BODY=BINARYMIME`, get 503;
/// - each chunk but the last gets `250 2.0.0 Ok: n octets received`; `BDAT 0 LAST` ends
///   a message as any LAST does;
/// - the size limit counts every chunk's bytes (`554 5.3.4` after LAST, as after DATA's dot);
/// - the reply to LAST is the delivery's, so it comes only when the message is durable.
/// A size that cannot be read leaves no way to find the end of the chunk: `501` and close.
extension SMTPSession {
    struct Chunk {
        var remaining = 0
        var size = 0
        var last = false
        var refusal: String?
    }

    mutating func checkBdat(_ arguments: [UInt8]?) -> Bool {
        guard parseBdat(arguments) != nil else {
            reply("501 5.5.4 Invalid command arguments: BDAT needs a size and optionally LAST")
            closeSession(reason: "quit")
            return false
        }
        return true
    }

    /// `n` or `n LAST`: n decimal digits (at most 18).
    func parseBdat(_ arguments: [UInt8]?) -> (size: Int, last: Bool)? {
        guard let arguments else { return nil }
        let words = arguments.split(separator: ASCII.space)
        guard words.count == 1 || (words.count == 2 && ASCII.equalsIgnoringCase(words[1], "LAST"))
        else { return nil }
        let digits = words[0]
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy(ASCII.isDigit),
            let size = Int(ASCII.string(digits))
        else { return nil }
        return (size, words.count == 2)
    }

    mutating func proceedBdat(_ arguments: [UInt8]?) {
        guard let (size, last) = parseBdat(arguments) else { return }
        var refusal: String?
        if heloName == nil || $transaction.isNil {
            refusal = Self.notAllowed
        } else if transaction!.recipients.isEmpty {
            refusal = "503 5.5.4 Invalid command arguments: No recipient specified"
        }
        chunk = Chunk(remaining: size, size: size, last: last, refusal: refusal)
        if refusal == nil && $data.isNil { beginMessage() }
        enterState(.bdat)
    }

    /// Takes the chunk's bytes as they arrive; true once the chunk is complete and answered.
    mutating func chunkBytes() -> Bool {
        if chunk.remaining > 0 {
            let piece = framer.take(upTo: chunk.remaining)
            guard !piece.isEmpty else { return false }
            chunk.remaining -= piece.count
            if chunk.refusal == nil {
                let before = data?.countedSize ?? 0
                appendChunk(piece)
                if faults != nil { bodyFaults((before + 1)...(before + piece.count)) }
                // A body fault closed the session or holds the rest of the input.
                if closed || !$faultPause.isNil { return false }
            }
            if chunk.remaining > 0 { return false }
        }
        if tracing { trace("\(tracePrefix)<<< [BDAT \(chunk.size)\(chunk.last ? " LAST" : "")]") }
        if let refusal = chunk.refusal {
            enterState(.helo)
            reply(refusal)
            chunk = Chunk()
        } else if faults != nil {
            finishChunkWithFaults()
        } else {
            finishChunk()
        }
        return true
    }

    /// A complete chunk's own answer: `250 … octets received`, or for LAST the delivery.
    mutating func finishChunk() {
        if chunk.last {
            if var phase = data, !phase.partialLine.isEmpty || phase.bodyLineOpen {
                if phase.error == nil, let error = phase.content.push(phase.partialLine) {
                    phase.error = error
                }
                phase.partialLine = []
                phase.bodyLineOpen = false
                data = phase
            }
            endOfMessage()
            // A refused message is answered at once; a delivered one when it is durable.
            if $pendingDelivery.isNil { enterState(.helo) }
        } else {
            enterState(.helo)
            reply("250 2.0.0 Ok: \(chunk.size) octets received")
        }
        chunk = Chunk()
    }

    /// Chunk bytes into the message: lines end at LF (a CR before it is dropped, as the
    /// stored form has LF line ends); nothing is unstuffed. Every byte counts for the size.
    mutating func appendChunk(_ piece: ArraySlice<UInt8>) {
        guard var phase = data else { return }
        data = nil  // appended in place below, not in a copy
        defer { data = phase }
        phase.countedSize += piece.count
        if phase.countedSize > limits.maxMessageSize { phase.error = .tooBig }
        guard phase.error == nil else { return }
        var rest = piece
        while let lf = rest.firstIndex(of: ASCII.lf) {
            var line = phase.partialLine
            line += rest[rest.startIndex..<lf]
            phase.partialLine = []
            phase.bodyLineOpen = false
            if line.last == ASCII.cr { line.removeLast() }
            if let error = phase.content.push(line) {
                phase.error = error
                return
            }
            rest = rest[(lf + 1)...]
        }
        phase.partialLine += rest
        if !phase.content.isInBody && phase.partialLine.count >= limits.maxAddressHeaderLength {
            // A header line is parsed whole, so it is held until its LF: bounded as an address
            // header is (DATA bounds every line by the line framer's limit instead).
            phase.error = .malformed
            phase.partialLine = []
            return
        }
        // In the body a line is stored as it comes (a binary chunk may hold no LF at all),
        // all but a last CR: an LF in the next chunk drops it.
        if phase.content.isInBody && phase.partialLine.count > Self.bodyPartLimit {
            let keep = phase.partialLine.last == ASCII.cr ? 1 : 0
            phase.content.appendBodyPart(phase.partialLine.dropLast(keep))
            phase.partialLine.removeFirst(phase.partialLine.count - keep)
            phase.bodyLineOpen = true
        }
    }

    /// Most bytes of an unfinished body line a BDAT message holds before storing them.
    static var bodyPartLimit: Int { 4096 }
}
