import Foundation
import LinuxSystem
import MaildirDelivery
import MaildirInspection
import MailLabTestSupport
import Testing

/// A fresh directory under /tmp, removed by `remove()`.
struct ScratchDirectory {
    let path: String

    init() {
        var template = Array("/tmp/maildir-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(
            decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) },
            as: UTF8.self)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func names(in folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
}

func contents(of path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}

func permissions(of path: String) -> Int? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return Int(info.st_mode & 0o7777)
}

/// Runs one `deliver` call and waits for its completion.
func deliverAndWait(
    _ writer: MaildirWriter, _ items: [DeliveryItem]
) -> Result<[String], SystemError> {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox()
    writer.deliver(items) { result in
        box.set(result)
        done.signal()
    }
    done.wait()
    return box.get()!
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<[String], SystemError>] = []

    func set(_ result: Result<[String], SystemError>) { lock.withLock { results.append(result) } }
    func get() -> Result<[String], SystemError>? { lock.withLock { results.first } }
    var all: [Result<[String], SystemError>] { lock.withLock { results } }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
