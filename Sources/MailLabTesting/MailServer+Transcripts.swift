import LinuxSystem
public import SMTPServer
public import SessionTranscript

extension MailServer {
    /// The transcripts of sessions that have ended (docs/TRANSCRIPTS.md), oldest first,
    /// waiting at most `timeout` seconds until there are at least `count` of them (the
    /// writer thread appends a session's last lines just after it closed). Empty for a
    /// server without transcripts. Running sessions' partial files are left out.
    public func transcripts(count: Int = 1, timeout: Double = 5) async throws -> [SessionTranscript]
    {
        guard let directory = transcriptDirectory else { return [] }
        let deadline = Clock.monotonicSeconds() + timeout
        while true {
            var finished: [SessionTranscript] = []
            for name in try FileSystem.directoryEntries(directory).sorted()
            where name.hasSuffix(".transcript") {
                guard let bytes = try? FileSystem.readFile(directory + "/" + name),
                    let transcript = try? TranscriptCodec.parse(bytes),
                    transcript.records.contains(where: \.isEnd)
                else { continue }
                finished.append(transcript)
            }
            if finished.count >= count || Clock.monotonicSeconds() >= deadline { return finished }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }
}

extension TranscriptRecord {
    /// The session is over: closed by the server or reset (a close by the client alone may
    /// still be followed by the server's last replies).
    fileprivate var isEnd: Bool { entry == .closed(by: .server) || entry == .reset }
}
