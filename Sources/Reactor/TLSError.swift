import COpenSSL

/// A TLS failure: what was being done (the OpenSSL function, or a step such as
/// "handshake"), the file involved if any, and OpenSSL's reason text.
public struct TLSError: Error, Sendable, CustomStringConvertible, Equatable {
    public var operation: String
    public var file: String?
    public var reason: String

    public init(_ operation: String, file: String? = nil, reason: String) {
        self.operation = operation
        self.file = file
        self.reason = reason
    }

    public var description: String {
        if let file { return "\(operation) \"\(file)\": \(reason)" }
        return "\(operation): \(reason)"
    }

    /// Takes (and clears) this thread's OpenSSL error queue: `ERR_get_error` +
    /// `ERR_error_string_n`, most recent last.
    static func fromQueue(_ operation: String, file: String? = nil, fallback: String) -> TLSError {
        var reasons: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(
                String(
                    decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self
                ))
        }
        return TLSError(
            operation, file: file,
            reason: reasons.isEmpty ? fallback : reasons.joined(separator: "; "))
    }
}
