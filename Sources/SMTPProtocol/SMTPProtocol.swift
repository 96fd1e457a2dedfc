// SMTPProtocol: see docs/ARCHITECTURE.md
