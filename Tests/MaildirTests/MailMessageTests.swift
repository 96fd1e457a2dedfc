import MailMessage
import Testing

@Suite struct EncodedWordTests {
    @Test(arguments: [
        ("=?UTF-8?B?R3LDvMOfZQ==?=", "Grüße"),
        ("=?utf-8?q?Zo=C3=AB_M=C3=BCller?=", "Zoë Müller"),
        ("=?ISO-8859-1?Q?J=F6rg?= <j@example.net>", "Jörg <j@example.net>"),
        ("=?iso-8859-15?q?=A4?=", "€"),
        ("=?windows-1252?Q?=93x=94?=", "“x”"),
        ("=?us-ascii?Q?plain?=", "plain"),
        // Blanks between adjacent words vanish, blanks next to text stay.
        ("=?UTF-8?Q?a?= =?UTF-8?Q?b?= c =?UTF-8?Q?d?=", "ab c d"),
        // A UTF-8 sequence split across two words (ü = C3 BC).
        ("=?UTF-8?Q?M=C3?= =?UTF-8?Q?=BCnchen?=", "München"),
        // Language suffix (RFC 2231 §5).
        ("=?UTF-8*de?Q?Stra=C3=9Fe?=", "Straße"),
        // Not encoded words: kept as written.
        ("=?UTF-8?X?abc?=", "=?UTF-8?X?abc?="),
        ("=?UTF-8?Q?no end", "=?UTF-8?Q?no end"),
        ("a =? b", "a =? b"),
        // Raw 8-bit: UTF-8 when valid.
        ("café", "café"),
    ])
    func decodes(input: String, expected: String) {
        #expect(EncodedWords.decode(Array(input.utf8)) == expected)
    }

    @Test func raw8BitThatIsNotUTF8IsReadAsWindows1252() {
        #expect(EncodedWords.decode([0x63, 0x61, 0x66, 0xE9, 0x20, 0x80]) == "café €")
    }
}

@Suite struct TransferEncodingTests {
    @Test func quotedPrintable() {
        let input = Array("Gr=C3=BC=c3=9Fe=\r\n and=\nmore = =ZZ=3".utf8)
        #expect(
            TransferEncoding.decodeQuotedPrintable(input) == Array("Grüße andmore = =ZZ=3".utf8))
    }

    @Test func quotedPrintableSoftBreakWithTrailingBlanks() {
        #expect(
            TransferEncoding.decodeQuotedPrintable(Array("a= \t\r\nb".utf8)) == Array("ab".utf8))
    }

    @Test(arguments: [
        ("", ""), ("YQ==", "a"), ("YWI=", "ab"), ("YWJj", "abc"),
        ("R3LD\r\nvMOf\nZQ==", "Grüße"), ("YW Jj", "abc"), ("YQ==YWJj", "a"),
    ])
    func base64(input: String, expected: String) {
        #expect(TransferEncoding.decodeBase64(Array(input.utf8)) == Array(expected.utf8))
    }

    @Test func unknownEncodingIsLeftAlone() {
        let bytes = Array("=41".utf8)
        #expect(TransferEncoding.decode(bytes, encoding: "8bit") == bytes)
        #expect(TransferEncoding.decode(bytes, encoding: "Quoted-Printable") == Array("A".utf8))
    }
}

@Suite struct MailDateTests {
    @Test(arguments: [
        ("Tue, 14 Nov 2023 22:13:20 +0000", 1_700_000_000 as Int64?),
        ("14 Nov 2023 22:13:20 +0000", 1_700_000_000),
        ("Tue, 14 Nov 2023 23:13:20 +0100", 1_700_000_000),
        ("Tue, 14 Nov 2023 17:13:20 EST", 1_700_000_000),
        ("Tue, 14 Nov 2023 22:13 +0000", 1_699_999_980),
        ("Sun, 29 Nov 2026 04:01:51 +0000 (UTC)", 1_795_924_911),
        ("Thu, 1 Jan 70 00:00:00 GMT", 0),
        ("Tue, 29 Feb 2000 12:00:00 +0000", 951_825_600),
        ("Tue, 14 Nov 2023 22:13:20", 1_700_000_000),
        ("yesterday", nil), ("Tue, 14 Foo 2023 22:13:20 +0000", nil),
        ("14 Nov 2023 25:00:00 +0000", nil), ("14 Nov 2023 22:13:20 +01", nil),
    ])
    func parses(text: String, expected: Int64?) {
        #expect(MailDate.parse(text) == expected)
    }

    @Test func formatsInUTC() {
        #expect(MailDate.shortUTC(1_700_000_000) == "2023-11-14 22:13")
        #expect(MailDate.iso8601(1_700_000_000) == "2023-11-14T22:13:20Z")
        #expect(MailDate.iso8601(0) == "1970-01-01T00:00:00Z")
        #expect(MailDate.iso8601(-1) == "1969-12-31T23:59:59Z")
        #expect(MailDate.iso8601(951_868_800) == "2000-03-01T00:00:00Z")
    }
}

@Suite struct MailMessageTests {
    @Test func headersUnfoldWithLFOrCRLF() {
        for end in ["\r\n", "\n"] {
            let text = ["Subject: one", "\ttwo", "  three", "X-Empty:", "To : a@b", "", "body"]
                .joined(separator: end)
            let message = MailMessage(bytes: Array(text.utf8))
            #expect(message.header.fields.map(\.name) == ["Subject", "X-Empty", "To"])
            #expect(message.subject == "one two three")
            #expect(message.header["x-empty"] == "")
            #expect(message.header["TO"] == "a@b")
            #expect(
                message.header.first("Subject")?.raw
                    == Array("Subject: one\(end)\ttwo\(end)  three".utf8))
            #expect(message.headerEnd == .blankLine)
            #expect(message.root.body == Array("body".utf8))
            #expect(
                Array(message.headerBytes) == Array(text.utf8).dropLast(4))
        }
    }

    @Test func headerSectionEndings() {
        #expect(MailMessage(bytes: Array("Subject: x\n".utf8)).headerEnd == .endOfData)
        let broken = MailMessage(bytes: Array("Subject: x\nno colon here\nmore\n".utf8))
        #expect(broken.headerEnd == .malformedLine(2))
        #expect(broken.root.body == Array("no colon here\nmore\n".utf8))
        let noHeader = MailMessage(bytes: Array("\nbody\n".utf8))
        #expect(noHeader.header.fields.isEmpty)
        #expect(noHeader.textPart?.text == "body\n")
    }

    @Test func contentTypeParameters() {
        let parameters = HeaderParameters(
            parsing:
                #"Application/PDF; NAME="a \"b\" c.pdf"; x=1 (comment); title*0*=utf-8''M%C3%A4; title*1=rz"#
        )
        #expect(parameters.value == "application/pdf")
        #expect(parameters["name"] == #"a "b" c.pdf"#)
        #expect(parameters["x"] == "1")
        #expect(parameters["title"] == "März")
    }

    @Test func nestedMultipartIsNumberedLikeIMAP() {
        let text = """
            Content-Type: multipart/mixed; boundary="o"

            preamble
            --o
            Content-Type: multipart/alternative; boundary=i

            --i
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            caf=E9
            --i
            Content-Type: text/html

            <p>cafe</p>
            --i--
            --o\t
            Content-Type: image/png
            Content-Disposition: attachment; filename="=?UTF-8?Q?Bild_=C3=BC.png?="
            Content-Transfer-Encoding: base64

            iVBORw0K
            --o--
            epilogue
            """
        let message = MailMessage(bytes: Array(text.utf8))
        let list = message.partList
        #expect(list.map(\.number) == ["", "1", "1.1", "1.2", "2"])
        #expect(list.map(\.depth) == [0, 1, 2, 2, 1])
        #expect(
            list.map(\.part.contentType) == [
                "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "image/png",
            ])
        #expect(list.allSatisfy { $0.part.isClosed })
        #expect(message.textPart?.text == "café")
        let image = list[4].part
        #expect(image.fileName == "Bild ü.png")
        #expect(image.disposition == "attachment")
        #expect(image.decodedBody == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A])
    }

    @Test func multipartWithoutClosingBoundaryIsNotClosed() {
        let text = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nsecond, cut"
        let message = MailMessage(bytes: Array(text.utf8))
        #expect(!message.root.isClosed)
        #expect(message.root.parts.map(\.body) == [Array("first".utf8), Array("second, cut".utf8)])
    }

    @Test func singlePartMessageIsPartOne() {
        let message = MailMessage(bytes: Array("Subject: x\n\nhello\n".utf8))
        #expect(message.partList.map(\.number) == ["1"])
        #expect(message.root.contentType == "text/plain")
        #expect(message.textPart?.text == "hello\n")
    }

    @Test func depthIsLimited() {
        var text = ""
        for level in 0..<(MIMEPart.maximumDepth + 5) {
            text += "Content-Type: multipart/mixed; boundary=b\(level)\n\n--b\(level)\n"
        }
        let message = MailMessage(bytes: Array(text.utf8))
        #expect(message.partList.count == MIMEPart.maximumDepth + 1)
    }

    @Test func charsets() {
        #expect(Charset.decode([0xE9], charset: "ISO-8859-1") == "é")
        #expect(Charset.decode([0x80, 0x9F], charset: "cp1252") == "€Ÿ")
        #expect(Charset.decode([0xC3, 0xA9], charset: "\"utf-8\"") == "é")
        #expect(Charset.decode([0xC3, 0xA9], charset: "x-unknown") == "é")
        #expect(Charset.decode([0xE9], charset: "us-ascii") == "é")
        #expect(Charset.decode([0xE9], charset: "utf-8") == "\u{FFFD}")
        #expect(Charset.isKnown("Latin1") && !Charset.isKnown("koi8-r"))
    }
}
