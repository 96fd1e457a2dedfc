import FuzzSupport
import Lab

// libFuzzer target: the lab file parser (docs/LABS.md): parse and validate.
// Input: the text of the lab file. Checked: it either parses or throws errors, each naming
// the file and a line inside it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLab(_ pointer: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = pointer else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try LabParser.parse(text, file: "f.lab")
    } catch {
        let description = "\(error)"
        require(!description.isEmpty, "an error without a message")
    }
    return 0
}

@_cdecl("FuzzLab_main")
public func fuzzLabMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>)
    -> CInt
{
    runFuzzer(argc, argv, fuzzLab)
}
