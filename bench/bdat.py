"""The BDAT cell: a small client sending 100 KiB messages in BDAT chunks (RFC 3030), each
message's MAIL, RCPT and chunks pipelined, S sessions in parallel, several messages per
session; done when every message is in the server's Maildir (new/). Against our smtpd and
Postfix (whose smtpd takes BDAT since 3.4; OpenSMTPD 6.8 offers no CHUNKING)."""

import socket
import threading
import time

from servers import RECIPIENT, SENDER
from throughput import RSSSampler, load, park, tree_cpu, wait_count

LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_~\r\n"


def message(size, index):
    body = LINE * (size // len(LINE) + 1)
    return (b"From: <%s>\r\nTo: <%s>\r\nSubject: bdat %d\r\n\r\n"
            % (SENDER.encode(), RECIPIENT.encode(), index)) + body[:size]


class Session:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.file = self.sock.makefile("rb")
        self.reply()
        self.sock.sendall(b"EHLO bdat.bench.test\r\n")
        ehlo = self.reply()
        if not any(line[4:].upper().startswith("CHUNKING") for line in ehlo):
            raise RuntimeError("the server does not offer CHUNKING")

    def reply(self):
        lines = []
        while True:
            line = self.file.readline().decode(errors="replace").rstrip("\r\n")
            if not line:
                raise RuntimeError("connection closed")
            lines.append(line)
            if line[3:4] != "-":
                return lines

    def send(self, data, chunk):
        pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
        out = b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\n" % (SENDER.encode(), RECIPIENT.encode())
        for i, piece in enumerate(pieces):
            last = b" LAST" if i == len(pieces) - 1 else b""
            out += b"BDAT %d%s\r\n" % (len(piece), last) + piece
        self.sock.sendall(out)
        replies = [self.reply()[-1] for _ in range(2 + len(pieces))]
        bad = [r for r in replies if not r.startswith("250")]
        if bad:
            raise RuntimeError(f"refused: {bad[0]}")

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
            self.reply()
        except (OSError, RuntimeError):
            pass
        self.sock.close()


def bdat_client(port, sessions, count, size, chunk):
    """Sends `count` messages over `sessions` connections; returns (seconds, errors)."""
    errors = []
    lock = threading.Lock()
    per = [count // sessions + (1 if i < count % sessions else 0) for i in range(sessions)]

    def work(n, first):
        try:
            s = Session(port)
            for i in range(n):
                s.send(message(size, first + i), chunk)
            s.close()
        except (OSError, RuntimeError) as e:
            with lock:
                errors.append(str(e))

    threads, first = [], 0
    for n in per:
        threads.append(threading.Thread(target=work, args=(n, first)))
        first += n
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, errors


def run_bdat(server, sessions, count, size, chunk, trash, warmup=10):
    """One measured run on a freshly started server; a message counts in new/."""
    park(server.maildir, trash)
    server.start()
    try:
        _, errors = bdat_client(server.port, 1, warmup, size, chunk)
        if errors:
            raise RuntimeError(errors[0])
        base, _ = wait_count(server.maildir, warmup, timeout=60)
        cpu0 = tree_cpu(server.pid)
        sampler = RSSSampler(server.pid)
        sampler.start()
        ld = load()
        t0 = time.monotonic()
        _, errors = bdat_client(server.port, sessions, count, size, chunk)
        n, t1 = wait_count(server.maildir, base + count, timeout=300)
        cpu1 = tree_cpu(server.pid)
        sampler.stop()
        delivered = n - base
        return {
            "server": server.name, "sessions": sessions, "size": size, "count": count,
            "chunk": chunk, "delivered": delivered, "client_errors": errors[:3],
            "seconds": t1 - t0, "rate": delivered / (t1 - t0), "server_cpu": cpu1 - cpu0,
            "peak_rss_kib": sampler.peak, "procs": sampler.peak_procs, "load": ld,
            "command": f"bench/bdat.py -s {sessions} -m {count} -l {size} chunk {chunk}",
        }
    finally:
        server.stop()
        park(server.maildir, trash)
