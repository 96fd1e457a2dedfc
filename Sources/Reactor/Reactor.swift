// Reactor: see docs/ARCHITECTURE.md
