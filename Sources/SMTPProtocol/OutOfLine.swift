/// An optional value kept out of line with value semantics: while nil it costs its owner one
/// pointer, and a copy of the owner shares the value until one side changes it. For the parts
/// of a session present only for a while (a transaction, a DATA phase, a message awaiting its
/// answer, a fault's pause), so that the 10,000 idle sessions of `make bench` stay small
/// (BENCHMARKS.md, "Idle sessions: the session's size").
@propertyWrapper
struct OutOfLine<Value> {
    // Shared only between copies of the owner, and changed only when not shared (checked with
    // isKnownUniquelyReferenced, as Array's buffer is).
    private final class Storage: @unchecked Sendable {
        var value: Value?
        init(_ value: Value?) { self.value = value }
    }

    private var storage: Storage?

    init(wrappedValue: Value?) {
        storage = wrappedValue.map { Storage($0) }
    }

    var wrappedValue: Value? {
        get { storage?.value }
        set {
            guard let newValue else {
                storage = nil
                return
            }
            if isKnownUniquelyReferenced(&storage) {
                storage!.value = newValue
            } else {
                storage = Storage(newValue)
            }
        }
        _modify {
            if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage?.value) }
            yield &storage!.value
            if storage!.value == nil { storage = nil }
        }
    }
}

extension OutOfLine: Sendable where Value: Sendable {}
