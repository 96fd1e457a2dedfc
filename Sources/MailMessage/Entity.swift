/// How the header section of a message or part ended.
public enum HeaderEnd: Sendable, Hashable {
    /// An empty line separates header and body (the usual case).
    case blankLine
    /// The data ended inside the header section: a message without body (valid).
    case endOfData
    /// A line that is neither a field nor a continuation (1-based line number): the header
    /// section is broken or the blank line is missing; the rest is taken as body.
    case malformedLine(Int)
}

/// A header section and where the body starts, for a message or a MIME part.
struct Entity {
    var header: HeaderSection
    /// Bytes of the header section (without the blank line).
    var headerRange: Range<Int>
    var bodyRange: Range<Int>
    var end: HeaderEnd

    /// Splits `bytes[range]` at the first empty line. Lines end in LF; a CR before it is
    /// part of the line end.
    init(_ bytes: [UInt8], range: Range<Int>) {
        var fields: [HeaderField] = []
        var current: [ArraySlice<UInt8>] = []
        var lineStart = range.lowerBound
        var lineNumber = 0
        var end = HeaderEnd.endOfData
        var headerEnd = range.upperBound
        var bodyStart = range.upperBound
        func finishField() {
            if let first = current.first, let last = current.last,
                let field = HeaderField(
                    lines: current, raw: Array(bytes[first.startIndex..<last.endIndex]))
            {
                fields.append(field)
            }
            current = []
        }
        while lineStart < range.upperBound {
            lineNumber += 1
            let newline = bytes[lineStart..<range.upperBound].firstIndex(of: 0x0A)
            let next = newline.map { $0 + 1 } ?? range.upperBound
            var line = bytes[lineStart..<(newline ?? range.upperBound)]
            if line.last == 0x0D { line.removeLast() }
            if line.isEmpty && newline != nil {
                end = .blankLine
                headerEnd = lineStart
                bodyStart = next
                break
            }
            if let first = line.first, first == 0x20 || first == 0x09, !current.isEmpty {
                current.append(line)
            } else if let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex {
                finishField()
                current = [line]
            } else {
                end = .malformedLine(lineNumber)
                headerEnd = lineStart
                bodyStart = lineStart
                break
            }
            lineStart = next
        }
        finishField()
        header = HeaderSection(fields: fields)
        headerRange = range.lowerBound..<max(range.lowerBound, headerEnd)
        bodyRange = bodyStart..<range.upperBound
        self.end = end
    }
}
