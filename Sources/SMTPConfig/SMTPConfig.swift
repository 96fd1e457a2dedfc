// SMTPConfig: see docs/ARCHITECTURE.md
