import FuzzSupport
@testable import SMTPProtocol

// libFuzzer target: the MAIL FROM / RCPT TO argument parser (OpenSMTPD's smtp_mailaddr).
// Input: byte 0 chooses (bit 0) whether the null path is allowed and (bit 1) whether UTF-8
// is (an SMTPUTF8 listener); the rest is the argument after "MAIL FROM:".
// Checked: a parsed address never holds a control byte, space, "<" or ">" (they cannot
// reach a Maildir name, a header or a log line), and without UTF-8 allowed, only ASCII;
// the null path only where allowed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAddress(_ pointer: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = pointer else { return 0 }
    guard size >= 1 else { return 0 }
    let flags = data[0]
    let argument = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let allowNull = flags & 1 != 0
    let allowUTF8 = flags & 2 != 0
    guard
        let parsed = AddressParser.parse(
            argument, allowNull: allowNull, serverName: "vm", limits: SessionLimits(),
            allowUTF8: allowUTF8)
    else { return 0 }
    switch parsed.path {
    case .null:
        require(allowNull, "a null path where none is allowed")
    case .address(let address):
        for part in [address.localPart, address.domain] {
            require(!part.isEmpty, "an empty local part or domain")
            for byte in part.utf8 {
                require(byte > 0x20 && byte != 0x7F, "a control byte or space in \(address)")
                require(byte != 0x3C && byte != 0x3E, "an angle bracket in \(address)")
                require(allowUTF8 || byte < 0x80, "UTF-8 without SMTPUTF8 in \(address)")
            }
        }
    }
    return 0
}

@_cdecl("FuzzAddress_main")
public func fuzzAddressMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
)
    -> CInt
{
    runFuzzer(argc, argv, fuzzAddress)
}
