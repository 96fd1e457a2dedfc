import Testing

@testable import SMTPProtocol

/// An idle session is mostly its `SMTPSession`: 10,000 of them must fit the idle target of
/// `make bench` (BENCHMARKS.md, "Idle sessions: the session's size").
@Suite struct SessionSizeTests {
    /// The parts present only for a while live out of line; with them inline (a transaction,
    /// a DATA phase, a pending message, a fault's pause) the session is 1,289 bytes.
    @Test func aSessionKeepsItsPassingPartsOutOfLine() {
        #expect(MemoryLayout<SMTPSession>.size <= 700)
    }

    @Test func anOutOfLineValueIsCopiedOnWriteAndGoesWhenNil() {
        struct Holder {
            @OutOfLine var numbers: [Int]?
        }
        var first = Holder(numbers: nil)
        #expect(first.numbers == nil)
        first.numbers = [1]
        var second = first
        second.numbers!.append(2)
        first.numbers?.append(3)
        #expect(first.numbers == [1, 3])
        #expect(second.numbers == [1, 2])
        second.numbers = nil
        #expect(second.numbers == nil)
        #expect(first.numbers == [1, 3])
        // A change through optional chaining on nil leaves it nil.
        second.numbers?.append(4)
        #expect(second.numbers == nil)
        #expect(MemoryLayout<Holder>.size == MemoryLayout<Int>.size)
    }
}
