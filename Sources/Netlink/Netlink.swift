// Netlink: see docs/ARCHITECTURE.md
