import FuzzSupport
import MailMessage

// libFuzzer target: the RFC 5322 / MIME reader that `mlab maildir show` and the test trait
// use. Input: a message file. Everything a reader can ask is asked: headers (unfolded,
// RFC 2047 decoded), subject, date, every part's decoded body and text. Checked: parts nest
// no deeper than MIMEPart.maximumDepth.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ pointer: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = pointer else { return 0 }
    let message = MailMessage(bytes: Array(UnsafeBufferPointer(start: data, count: size)))
    _ = message.subject
    _ = message.from
    _ = message.date
    _ = message.textPart?.text
    for field in message.header.fields {
        _ = field.value
        _ = field.plainValue
    }
    for (_, depth, part) in message.partList {
        require(depth <= MIMEPart.maximumDepth + 1, "parts \(depth) deep")
        _ = part.decodedBody
        _ = part.text
        _ = part.fileName
        _ = part.contentTypeParameters
        for field in part.header.fields { _ = field.value }
    }
    return 0
}

@_cdecl("FuzzMIME_main")
public func fuzzMIMEMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>)
    -> CInt
{
    runFuzzer(argc, argv, fuzzMIME)
}
