import MaildirDelivery

/// The start-up sweep of the configured Maildirs' tmp/ folders
/// (``Maildir/sweepTemporaryFiles(hostname:)``): whole messages a crash left there go into
/// new/, stale files go, and the log says so.
func sweepTemporaryFiles(of roots: [String], log: LogSink) {
    for root in roots {
        let maildir = Maildir(root: root)
        do {
            let sweep = try maildir.sweepTemporaryFiles(hostname: hostNameForFiles())
            if sweep.recovered > 0 {
                log.write("info: recovered \(sweep.recovered) message(s) into \(maildir.new)")
            }
            if sweep.removed > 0 {
                log.write("info: removed \(sweep.removed) stale file(s) from \(maildir.tmp)")
            }
            for failure in sweep.failures {
                log.write("warn: \(maildir.tmp): left for the next start: \(failure)")
            }
        } catch {
            // A refused symbolic link among them: said, not followed.
            log.write("warn: stale files of \(maildir.tmp) left alone: \(error)")
        }
    }
}
