/// An optional value kept out of line with value semantics: while nil it costs its owner one
/// pointer, and a copy of the owner shares the value until one side changes it. For the parts
/// of a session present only for a while (a transaction, a DATA phase, a message awaiting its
/// answer, a fault's pause), so that the 10,000 idle sessions of `make bench` stay small
/// (BENCHMARKS.md, "Idle sessions: the session's size").
@propertyWrapper
struct OutOfLine<Value> {
    // The value is a ManagedBuffer's header, reached through its pointer: a class's stored
    // property would cost a dynamic exclusivity check on every access of a DATA line.
    private typealias Storage = ManagedBuffer<Value?, UInt8>

    private var storage: Storage?

    init(wrappedValue: Value?) {
        storage = wrappedValue.map { Self.make($0) }
    }

    private static func make(_ value: Value?) -> Storage {
        Storage.create(minimumCapacity: 0) { _ in value }
    }

    /// The header's address is fixed for the buffer's life, which `storage` holds.
    private static func value(of storage: Storage) -> UnsafeMutablePointer<Value?> {
        storage.withUnsafeMutablePointerToHeader { $0 }
    }

    /// Whether the value is nil, without reading it (`$name.isNil`).
    var isNil: Bool { storage == nil }

    var projectedValue: Self { self }

    var wrappedValue: Value? {
        // A plain getter: a `_read` coroutine's frame (with room for a nil Value?) outgrows
        // the caller's buffer and is allocated on the heap, on every access.
        get { storage.flatMap { Self.value(of: $0).pointee } }
        set {
            guard let newValue else {
                storage = nil
                return
            }
            if isKnownUniquelyReferenced(&storage) {
                Self.value(of: storage!).pointee = newValue
            } else {
                storage = Self.make(newValue)
            }
        }
        _modify {
            // A buffer even for optional chaining on nil (dropped again below): a local
            // Value? to yield instead would make the coroutine's frame too big for the
            // caller's buffer, and allocate it on every access.
            if storage == nil {
                storage = Self.make(nil)
            } else if !isKnownUniquelyReferenced(&storage) {
                storage = Self.make(Self.value(of: storage!).pointee)
            }
            let value = Self.value(of: storage!)
            yield &value.pointee
            if value.pointee == nil { storage = nil }
        }
    }
}

// Shared only between copies of the owner, and changed only when not shared (checked with
// isKnownUniquelyReferenced, as Array's buffer is).
extension OutOfLine: @unchecked Sendable where Value: Sendable {}
