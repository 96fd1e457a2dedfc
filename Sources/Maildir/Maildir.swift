// Maildir: see docs/ARCHITECTURE.md
