import Foundation

/// How a program run by `runToEnd` ended.
public struct ProgramOutput: Sendable {
    /// The exit status, or 128 + the signal that ended it.
    public let status: Int32
    public let output: String
    public let errors: String
}

/// Runs `program` with `arguments` (and `input` on stdin) to its end, reading stdout and
/// stderr at the same time so that neither can fill up and stall it.
public func runToEnd(
    _ program: String, _ arguments: [String], environment: [String: String]? = nil,
    input: String? = nil
) throws -> ProgramOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe()
    let errors = Pipe()
    let standardInput = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = input == nil ? FileHandle.nullDevice : standardInput
    try process.run()
    if let input {
        standardInput.fileHandleForWriting.write(Data(input.utf8))
        try standardInput.fileHandleForWriting.close()
    }
    // A thread of its own, not the concurrency pool: reading blocks.
    let errorData = OneShot()
    let reader = Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errorText = String(decoding: errorData.wait(), as: UTF8.self)
    return ProgramOutput(
        status: process.terminationReason == .exit
            ? process.terminationStatus : 128 + process.terminationStatus,
        output: String(decoding: outputData, as: UTF8.self), errors: errorText)
}

/// A value set once by one thread and waited for by another.
private final class OneShot: @unchecked Sendable {
    private let condition = NSCondition()
    private var data: Data?

    func set(_ value: Data) {
        condition.lock()
        data = value
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Data {
        condition.lock()
        defer { condition.unlock() }
        while data == nil { condition.wait() }
        return data ?? Data()
    }
}
