"""The big-message memory cell: S sessions in parallel, each sending one M-byte message with
DATA at once; done when every message is in the server's Maildir (new/). What it measures
is the server's peak resident memory (VmHWM of smtpd, since its start) against its RSS
before the first session: a server that holds messages whole needs S x M, a streaming one
a bounded buffer per session. Only our smtpd (the other servers spool to disk by design)."""

import socket
import threading
import time

from servers import RECIPIENT, SENDER, hwm_kib, tree_rss_kib
from throughput import load, park, tree_cpu, wait_count

LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_~\r\n"


def reply(f):
    lines = []
    while True:
        line = f.readline().decode(errors="replace").rstrip("\r\n")
        if not line:
            raise RuntimeError("connection closed")
        lines.append(line)
        if line[3:4] != "-":
            return lines


def send_one(port, body):
    """One session, one message; raises on any refusal."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    f = s.makefile("rb")
    try:
        reply(f)
        for command in (b"EHLO memory.bench.test", b"MAIL FROM:<%s>" % SENDER.encode(),
                        b"RCPT TO:<%s>" % RECIPIENT.encode(), b"DATA"):
            s.sendall(command + b"\r\n")
            answer = reply(f)[-1]
            if not answer.startswith(("250", "354")):
                raise RuntimeError(f"{command.decode()}: {answer}")
        s.sendall(body + b".\r\nQUIT\r\n")
        answer = reply(f)[-1]
        if not answer.startswith("250"):
            raise RuntimeError(f"final dot: {answer}")
    finally:
        f.close()
        s.close()


def run_memory(server, sessions, size, trash):
    """One run on a freshly started server."""
    header = b"From: <%s>\r\nTo: <%s>\r\nSubject: memory\r\n\r\n" % (
        SENDER.encode(), RECIPIENT.encode())
    lines = size // len(LINE)  # whole lines only: the body must end in CRLF before the dot
    body = header + LINE * (lines - len(header) // len(LINE) - 1)
    park(server.maildir, trash)
    server.start()
    errors = []
    lock = threading.Lock()

    def work():
        try:
            send_one(server.port, body)
        except (OSError, RuntimeError) as e:
            with lock:
                errors.append(str(e))

    try:
        time.sleep(0.3)
        rss0, _ = tree_rss_kib(server.pid)
        hwm0 = hwm_kib(server.pid)
        cpu0 = tree_cpu(server.pid)
        ld = load()
        threads = [threading.Thread(target=work) for _ in range(sessions)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        n, t1 = wait_count(server.maildir, sessions - len(errors), timeout=300)
        return {
            "server": server.name, "sessions": sessions, "size": size, "delivered": n,
            "client_errors": errors[:3], "seconds": t1 - t0, "server_cpu": tree_cpu(server.pid) - cpu0,
            "rss0_kib": rss0, "hwm0_kib": hwm0, "peak_rss_kib": hwm_kib(server.pid),
            "load": ld,
            "command": f"bench/memory.py: {sessions} sessions x {size} bytes, one DATA each",
        }
    finally:
        server.stop()
        park(server.maildir, trash)
