import FuzzSupport
import SMTPConfig

// libFuzzer target: the smtpd.conf parser (both grammars, macros, tables, include).
// Input: the text of the file. Every `include` finds the same small file, which includes
// itself (a loop the parser must stop). Checked: parsing either succeeds or reports errors,
// each with a message and a line inside the file it names.

func lineCount(_ bytes: [UInt8]) -> Int {
    let newlines = bytes.filter { $0 == 0x0A }.count
    return max(1, bytes.last == 0x0A ? newlines : newlines + 1)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ pointer: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = pointer else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    var includes = 0
    do {
        _ = try SMTPConfiguration.parse(text, fileName: "f.conf", macros: ["m": "lo"]) { path in
            includes += 1
            return "listen on lo\ninclude \"\(path)\"\n"
        }
    } catch {
        require(!error.errors.isEmpty, "a failure without errors")
        let last = lineCount(Array(text.utf8))
        for e in error.errors {
            let lines = e.location.file == "f.conf" ? last : 2
            require((1...lines).contains(e.location.line), "\(e): line outside the file")
            require(!e.message.isEmpty, "an error without a message")
        }
    }
    require(includes < 1000, "\(includes) includes")
    return 0
}

@_cdecl("FuzzConfig_main")
public func fuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>)
    -> CInt
{
    runFuzzer(argc, argv, fuzzConfig)
}
