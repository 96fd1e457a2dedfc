"""Idle sessions: open N connections, read each banner, hold them; measure the server's
RSS per session and how long a new session then waits for its banner."""

import errno
import resource
import selectors
import socket
import time

from servers import tree_pss_kib, tree_rss_kib


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def open_idle(port, n, timeout=20.0, batch=200):
    """Opens n sessions that took their banner (connects in batches of `batch` in flight).
    Returns (sockets, banners received)."""
    sel = selectors.DefaultSelector()
    socks, waiting, banners = [], 0, 0
    refused = 0
    started = 0
    deadline = time.monotonic() + timeout
    while (started < n or waiting) and time.monotonic() < deadline:
        while started < n and waiting < batch:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                raise OSError(err, f"connect #{started}")
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
            started += 1
            waiting += 1
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(512)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            sel.unregister(s)
            waiting -= 1
            if data.startswith(b"220"):
                banners += 1
            elif data.startswith(b"421"):
                refused += 1
    sel.close()
    open_idle.refused = refused
    return socks, banners


def banner_latency(port, tries=10):
    """Seconds from connect to a full 220 line, for `tries` fresh sessions (closed after)."""
    out = []
    for _ in range(tries):
        t0 = time.monotonic()
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            out.append(float("inf"))
            continue
        try:
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(512)
                if not chunk:
                    break
                buf += chunk
            out.append(time.monotonic() - t0 if buf.startswith(b"220") else float("inf"))
        except OSError:
            out.append(float("inf"))
        finally:
            s.close()
        time.sleep(0.01)
    return out


def run_idle(server, n):
    raise_nofile(n + 256)
    server.start()
    socks = []
    try:
        time.sleep(0.3)
        rss0, _ = tree_rss_kib(server.pid)
        pss0 = tree_pss_kib(server.pid)
        t0 = time.monotonic()
        socks, banners = open_idle(server.port, n)
        opened = time.monotonic() - t0
        time.sleep(1.0)
        rss1, procs1 = tree_rss_kib(server.pid)
        pss1 = tree_pss_kib(server.pid)
        lat = sorted(banner_latency(server.port))
        return {
            "server": server.name, "sessions": n, "banners": banners, "open_seconds": opened,
            "rss0_kib": rss0, "rss1_kib": rss1, "procs": procs1,
            "per_session_kib": (rss1 - rss0) / max(banners, 1),
            "pss0_kib": pss0, "pss1_kib": pss1,
            "pss_per_session_kib": (pss1 - pss0) / max(banners, 1),
            "new_banner_ms_median": lat[len(lat) // 2] * 1000,
            "new_banner_ms_max": lat[-1] * 1000,
        }
    finally:
        for s in socks:
            s.close()
        server.stop()


def run_limit_check(server, nofile=1024, n=1100):
    """smtpd under a low descriptor limit: it must say so at start and refuse the sessions
    it cannot hold with 421 instead of hanging them."""
    server.prefix = ["prlimit", f"--nofile={nofile}:{nofile}", "--"]
    server.start()
    socks = []
    try:
        socks, banners = open_idle(server.port, n)
        refused = open_idle.refused
    finally:
        for s in socks:
            s.close()
        server.stop()
        server.prefix = []
    with open(server.log_path) as f:
        warnings = [line.strip() for line in f if "descriptor limit" in line][-1:]
    return {"server": server.name, "nofile": nofile, "sessions": n, "banners": banners,
            "refused_421": refused, "log": warnings[0] if warnings else ""}
