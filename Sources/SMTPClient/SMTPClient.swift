// SMTPClient: see docs/ARCHITECTURE.md
