// Lab: see docs/ARCHITECTURE.md
