import Glibc

/// Writes `line` to stderr at once (stdout may be a pipe with buffered transcript lines).
func printToStandardError(_ line: String) { writeToDescriptor(2, Array((line + "\n").utf8)) }

/// Writes `text` to stdout unbuffered, so transcripts interleave correctly with stderr.
func writeToStandardOutput(_ text: String) { writeToDescriptor(1, Array(text.utf8)) }
