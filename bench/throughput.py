"""Throughput runs: smtp-source against one server, timed until every message is in new/."""

import os
import resource
import shutil
import subprocess
import threading
import time

from servers import RECIPIENT, SENDER, hwm_kib, tree_cpu, tree_pss_kib, tree_rss_kib


def count_new(maildir):
    try:
        return sum(1 for _ in os.scandir(os.path.join(maildir, "new")))
    except FileNotFoundError:
        return 0


def load():
    return open("/proc/loadavg").read().split()[0]


class RSSSampler(threading.Thread):
    """Peak summed RSS of a process tree, sampled every `interval` seconds."""

    def __init__(self, pid, interval=0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak, self.peak_procs, self.peak_pss = 0, 0, 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            rss, procs = tree_rss_kib(self.pid)
            if rss > self.peak:
                self.peak, self.peak_procs = rss, procs
            self.peak_pss = max(self.peak_pss, tree_pss_kib(self.pid))
            self.done.wait(self.interval)

    def stop(self):
        self.done.set()
        self.join()


def smtp_source(port, sessions, count, size, check=True):
    """Runs smtp-source; returns (seconds, its CPU seconds, stderr)."""
    argv = ["smtp-source", "-s", str(sessions), "-m", str(count), "-l", str(size),
            "-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{port}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and (p.returncode != 0 or p.stderr.strip()):
        raise RuntimeError(f"smtp-source failed ({p.returncode}): {p.stderr.strip()[:500]}")
    return elapsed, cpu, " ".join(argv)


def wait_count(maildir, expected, timeout=300.0):
    deadline = time.monotonic() + timeout
    while True:
        n = count_new(maildir)
        if n >= expected or time.monotonic() > deadline:
            return n, time.monotonic()
        time.sleep(0.02)


def park(maildir, trash):
    """Moves a Maildir out of the way; the files are removed after all runs (deleting
    thousands of files between runs would slow the next run's creates on ext4)."""
    if maildir and os.path.exists(maildir):
        os.makedirs(trash, exist_ok=True)
        dest = os.path.join(trash, f"{time.monotonic_ns()}")
        shutil.move(maildir, dest)


def run_server(server, sessions, count, size, trash, warmup=20):
    """One measured run on a freshly started server. Returns a result dict."""
    park(server.maildir, trash)
    server.start()
    try:
        smtp_source(server.port, 1, warmup, size)
        base = 0
        if server.maildir:
            base, _ = wait_count(server.maildir, warmup, timeout=60)
        cpu0 = tree_cpu(server.pid)
        sampler = RSSSampler(server.pid)
        sampler.start()
        t0 = time.monotonic()
        ld = load()
        elapsed, client_cpu, cmd = smtp_source(server.port, sessions, count, size)
        t1 = t0 + elapsed
        delivered = count
        if server.maildir:
            n, t1 = wait_count(server.maildir, base + count)
            delivered = n - base
        cpu1 = tree_cpu(server.pid)
        sampler.stop()
        peak = max(sampler.peak, hwm_kib(server.pid) if sampler.peak_procs <= 1 else 0)
        return {
            "server": server.name, "sessions": sessions, "size": size, "count": count,
            "delivered": delivered, "seconds": t1 - t0, "rate": delivered / (t1 - t0),
            "server_cpu": cpu1 - cpu0, "client_cpu": client_cpu, "peak_rss_kib": peak,
            "procs": sampler.peak_procs, "peak_pss_kib": sampler.peak_pss, "load": ld,
            "command": cmd,
        }
    finally:
        server.stop()
        park(server.maildir, trash)


def run_loop(binary, root, count, size, trash, batch=None, flushes=2):
    """The bare create-write-fsync-rename-fsync(new/) loop: the disk's ceiling, one file per
    flush; with `batch`, group commit of `batch` files per `flushes` syncfs calls."""
    d = os.path.join(root, "loop")
    park(d, trash)
    ld = load()
    mode = [] if batch is None else ["batch" if flushes == 2 else "batch1", str(batch)]
    out = subprocess.run([binary, d, str(count), str(size)] + mode, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    seconds = float(out.split(" in ")[1].split()[0])
    n = count_new(d)
    park(d, trash)
    name = "fsync-loop" if batch is None else f"batch-loop-{batch}x{flushes}"
    return {"server": name, "sessions": 1, "size": size, "count": count,
            "delivered": n, "seconds": seconds, "rate": n / seconds, "server_cpu": None,
            "client_cpu": None, "peak_rss_kib": None, "procs": 1, "load": ld,
            "command": " ".join([os.path.basename(binary), "DIR", str(count), str(size)] + mode)}
