// SMTPServer: see docs/ARCHITECTURE.md
