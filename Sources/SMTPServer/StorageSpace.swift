import Glibc
import LinuxSystem

/// Free space where the configuration's fixed Maildirs live, for `SIZE=` at MAIL: the least
/// of their file systems (a message goes to every recipient's Maildir). A Maildir not made
/// yet counts by the nearest folder above it that exists. Paths built per recipient (a home)
/// are not known before RCPT: the delivery's own check (452 4.3.1 on ENOSPC) covers them.
enum StorageSpace {
    static func available(in roots: [String]) -> Int? {
        var least: Int?
        for root in roots {
            var path = root
            while true {
                if let bytes = try? FileSystem.availableBytes(path) {
                    least = min(least ?? bytes, bytes)
                    break
                }
                guard let slash = path.lastIndex(of: "/"), path != "/" else { break }
                path = slash == path.startIndex ? "/" : String(path[..<slash])
            }
        }
        return least
    }
}
