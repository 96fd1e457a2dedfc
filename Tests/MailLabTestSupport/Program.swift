import Foundation

/// How a program run by `runToEnd` ended.
public struct ProgramOutput: Sendable {
    /// The exit status, or 128 + the signal that ended it.
    public let status: Int32
    public let output: String
    public let errors: String
}

/// A program that did not end in its time (it has been killed).
public struct ProgramTimeout: Error, CustomStringConvertible {
    public let program: String
    public let arguments: [String]
    public let seconds: Double
    public let errors: String
    public var description: String {
        "\(program) \(arguments) did not finish within \(seconds) s (killed); stderr: \(errors)"
    }
}

/// Runs `program` with `arguments` (and `input` on stdin) to its end, reading stdout and
/// stderr at the same time so that neither can fill up and stall it. Started as from a shell
/// (`ChildProcess`); killed after `timeout` s.
public func runToEnd(
    _ program: String, _ arguments: [String], environment: [String: String]? = nil,
    input: String? = nil, timeout: Double = 600
) throws -> ProgramOutput {
    let child = try ChildProcess(
        program, arguments, environment: environment, input: input.map { Data($0.utf8) },
        output: .capture, errors: .capture)
    let finished = child.communicate(timeout: timeout)
    let errors = String(decoding: finished.errors, as: UTF8.self)
    if finished.timedOut {
        throw ProgramTimeout(
            program: program, arguments: arguments, seconds: timeout, errors: errors)
    }
    return ProgramOutput(
        status: finished.status, output: String(decoding: finished.output, as: UTF8.self),
        errors: errors)
}
