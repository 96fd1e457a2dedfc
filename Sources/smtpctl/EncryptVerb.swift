import ArgumentParser
import CSystem
import Glibc
import LinuxSystem

/// `smtpctl encrypt [STRING]`: a crypt(3) hash for a credentials table, made here without
/// smtpd, as OpenSMTPD 6.8 portable's `encrypt` helper does: SHA-512 (`$6$`) with a salt of
/// 16 characters; without STRING, one hash per line of standard input.
struct EncryptVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt",
        abstract: "Print the SHA-512 crypt(3) hash of STRING, or of each line of standard input.")
    @Argument(help: "The string to hash (default: each line of standard input).")
    var string: String?

    func run() throws {
        if let string {
            try printHash(of: string)
            return
        }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count: Int
            do {
                count = try checkedCall("read", "standard input") {
                    buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                }
            } catch {
                printError("smtpctl: encrypt: \(error)")
                throw ExitCode(1)
            }
            guard count > 0 else { break }
            pending.append(contentsOf: buffer[..<count])
            while let newline = pending.firstIndex(of: 0x0A) {
                try printHash(of: String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { try printHash(of: String(decoding: pending, as: UTF8.self)) }
    }

    private func printHash(of string: String) throws {
        var hash = [CChar](repeating: 0, count: 256)
        guard csystem_crypt_new(string, "$6$", &hash, hash.count) == 0 else {
            printError("smtpctl: encrypt: crypt: \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        let bytes = hash.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        printOut(String(decoding: bytes, as: UTF8.self) + "\n")
    }
}
