import FuzzSupport
import SessionTranscript

// libFuzzer target: the session transcript parser and its conversion to a chat script
// (docs/TRANSCRIPTS.md). Input: the bytes of a transcript file. Checked: it parses or throws
// an error naming a line of the input; a parsed one writes back to text that parses to the
// same bytes per side; the conversion returns a script or an error, never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTranscript(_ pointer: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = pointer else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let transcript: SessionTranscript
    do {
        transcript = try TranscriptCodec.parse(bytes)
    } catch {
        let lines = bytes.filter { $0 == 0x0A }.count + 1
        precondition(error.line >= 1 && error.line <= lines, "error line \(error.line) of \(lines)")
        return 0
    }
    let again = try! TranscriptCodec.parse(TranscriptCodec.encode(transcript))
    precondition(again.bytes(from: .client) == transcript.bytes(from: .client), "client bytes")
    precondition(again.bytes(from: .server) == transcript.bytes(from: .server), "server bytes")
    _ = try? TranscriptChat.script(from: transcript, name: "f.transcript")
    return 0
}

@_cdecl("FuzzTranscript_main")
public func fuzzTranscriptMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> CInt {
    runFuzzer(argc, argv, fuzzTranscript)
}
