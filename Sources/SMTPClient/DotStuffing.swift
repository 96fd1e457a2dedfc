/// DATA content on the wire (RFC 5321 §4.5.2): CRLF line ends, a leading dot doubled, and
/// the terminating `.` line.
public enum DotStuffing {
    /// `content` with CRLF line ends (LF or CRLF in, one added at the end if missing),
    /// nothing stuffed and no terminator: a BDAT body (RFC 3030).
    public static func crlfLines(_ content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.count + content.count / 40 + 2)
        var index = 0
        while index < content.count {
            let byte = content[index]
            if byte == 13, index + 1 < content.count, content[index + 1] == 10 {
                index += 1
                continue  // the LF that follows writes the CRLF
            }
            if byte == 10 { out.append(13) }
            out.append(byte)
            index += 1
        }
        if out.last != 10 { out += [13, 10] }
        return out
    }

    /// Encodes `content` (LF or CRLF line ends; a missing final line end is added) for the
    /// wire, terminator included. A CR not followed by LF is kept as a byte of its line, or,
    /// with `loneCRAsLineEnd`, sent as the line end it can only be meant as (RFC 5321 §2.3.8:
    /// a client must not send a bare CR; a relay that passed `\r.\r` on would hand the next
    /// hop a smuggled end of data).
    public static func encode(_ content: [UInt8], loneCRAsLineEnd: Bool = false) -> [UInt8] {
        var encoder = Encoder(loneCRAsLineEnd: loneCRAsLineEnd)
        var out: [UInt8] = []
        out.reserveCapacity(content.count + content.count / 40 + 5)
        encoder.encode(content[...], into: &out)
        encoder.finish(into: &out)
        return out
    }

    /// `encode` for content that arrives in pieces (a spool file read in chunks): any split
    /// of the content gives the same bytes as `encode` of the whole.
    public struct Encoder: Sendable {
        public let loneCRAsLineEnd: Bool
        private var atLineStart = true
        /// A CR ended the last piece: whether it was a line end depends on the next byte.
        private var pendingCR = false

        public init(loneCRAsLineEnd: Bool = false) { self.loneCRAsLineEnd = loneCRAsLineEnd }

        /// Appends the wire form of `piece` to `out`.
        public mutating func encode(_ piece: ArraySlice<UInt8>, into out: inout [UInt8]) {
            for byte in piece {
                if pendingCR {
                    pendingCR = false
                    if byte == UInt8(ascii: "\n") {
                        out += [13, 10]
                        atLineStart = true
                        continue
                    }
                    lone(into: &out)
                }
                if atLineStart && byte == UInt8(ascii: ".") { out.append(byte) }
                switch byte {
                case UInt8(ascii: "\r"):
                    pendingCR = true
                case UInt8(ascii: "\n"):
                    out += [13, 10]
                    atLineStart = true
                default:
                    out.append(byte)
                    atLineStart = false
                }
            }
        }

        /// Ends the content: a last line end if missing, and the terminator.
        public mutating func finish(into out: inout [UInt8]) {
            if pendingCR {
                pendingCR = false
                lone(into: &out)
            }
            if !atLineStart { out += [13, 10] }
            out += Array(".\r\n".utf8)
            atLineStart = true
        }

        /// A CR not followed by LF.
        private mutating func lone(into out: inout [UInt8]) {
            if loneCRAsLineEnd {
                out += [13, 10]
                atLineStart = true
            } else {
                out.append(13)
                atLineStart = false
            }
        }
    }

    /// Encodes lines (without line ends).
    public static func encode(lines: [String]) -> [UInt8] {
        encode(Array(lines.map { $0 + "\n" }.joined().utf8))
    }

    /// Inverse of `encode` for tests and tools: the content lines before the terminator,
    /// unstuffed; nil when the input has no terminating `.` line.
    public static func decode(_ wire: [UInt8]) -> [[UInt8]]? {
        var lines: [[UInt8]] = []
        var rest = wire[...]
        while let lf = rest.firstIndex(of: UInt8(ascii: "\n")) {
            var line = Array(rest[rest.startIndex..<lf])
            rest = rest[(lf + 1)...]
            guard line.last == UInt8(ascii: "\r") else { return nil }
            line.removeLast()
            if line == [UInt8(ascii: ".")] { return rest.isEmpty ? lines : nil }
            if line.first == UInt8(ascii: ".") { line.removeFirst() }
            lines.append(line)
        }
        return nil
    }
}
