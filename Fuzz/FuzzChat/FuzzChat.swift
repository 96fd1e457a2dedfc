import FuzzSupport
import SMTPClient

// libFuzzer target: the chat script parser (mlab chat, docs/CLIENT.md).
// Input: the text of the script. Checked: it either parses or throws errors.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChat(_ pointer: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = pointer else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try ChatScriptParser.parse(text, name: "f.chat")
    } catch {
        require(!"\(error)".isEmpty, "an error without a message")
    }
    return 0
}

@_cdecl("FuzzChat_main")
public func fuzzChatMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>)
    -> CInt
{
    runFuzzer(argc, argv, fuzzChat)
}
