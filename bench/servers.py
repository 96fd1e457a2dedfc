"""The servers under test: how each is configured, started, found and stopped.

Every server listens on 127.0.0.1 only, on its own port, and is stopped by pid. Work files
live under BENCH_DIR (default /tmp/maillab-bench); nothing outside it is written except the
system users created by run.sh (mlbench, opensmtpd, opensmtpq).
"""

import os
import shutil
import signal
import socket
import subprocess
import time

SENDER = "bench@bench.test"
RECIPIENT = "mlbench@bench.test"


def wait_banner(port, timeout=30.0):
    """Waits until a 220 banner comes from 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no banner on port {port} within {timeout} s")


def wait_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def kill_pid(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    if not wait_gone(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_gone(pid)


class Server:
    """Base: a server process tree rooted at `pid`, delivering into `maildir` (None: none)."""

    name = "?"
    port = 0
    maildir = None
    durable = True

    def __init__(self, root):
        self.root = root
        self.pid = None
        self.proc = None
        self.log = None

    def start(self):
        raise NotImplementedError

    def stop(self):
        if self.pid:
            kill_pid(self.pid)
        if self.proc:
            self.proc.wait()
        if self.log:
            self.log.close()
        self.pid = self.proc = self.log = None

    prefix = []

    @property
    def log_path(self):
        return os.path.join(self.root, f"{self.name}.log")

    def spawn(self, argv, cwd, env=None):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.prefix + argv, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        self.pid = self.proc.pid


class OurSMTPD(Server):
    """MailLab's smtpd (release build), durable Maildir delivery (group commit)."""

    name = "maillab"
    port = 2601

    # What durable delivery costs, part by part (BENCHMARKS.md, "What the store path costs"):
    # each variant takes one part away. Not in the default runs: `noflush` loses mail on a
    # power cut (the power-cut test's `data` mutation), it is a measurement only.
    VARIANTS = {
        "oneprocess": ({"MAILLAB_NO_SPLIT": "1"}, 20),
        "noflush": ({"MAILLAB_UNSAFE_SKIP_FLUSH": "data"}, 40),
        "noflush-oneprocess": ({"MAILLAB_UNSAFE_SKIP_FLUSH": "data", "MAILLAB_NO_SPLIT": "1"}, 60),
    }

    def __init__(self, root, binary, discard=False, base=False, variant=None):
        super().__init__(root)
        self.binary = binary
        self.discard = discard
        self.env = None
        if discard:
            self.name = "maillab-nostore"
            self.port = 2604
            self.durable = False
        if base:
            # An earlier build (SMTPD_BASE), for A/B runs in the same minutes.
            self.name = self.name.replace("maillab", "maillab-base")
            self.port += 10
        if variant:
            extra, offset = self.VARIANTS[variant]
            self.name += "-" + variant
            self.port += offset
            self.env = dict(os.environ, **extra)
        self.dir = os.path.join(root, self.name)
        self.maildir = None if discard else os.path.join(self.dir, "Maildir")

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        target = "/dev/null" if self.discard else self.maildir
        conf = os.path.join(self.dir, "smtpd.conf")
        with open(conf, "w") as f:
            f.write(f"listen on 127.0.0.1 port {self.port}\n")
            f.write(f'action "local" maildir "{target}" virtual {{ "@" = "nobody" }}\n')
            f.write('match from any for any action "local"\n')
        self.spawn([self.binary, "-d", "-f", conf], cwd=self.dir, env=self.env)
        wait_banner(self.port)


class Postfix(Server):
    """Postfix 3.7 from Debian, private config and queue, local(8) into ~mlbench/Maildir/."""

    name = "postfix"
    port = 2602

    def __init__(self, root, home):
        super().__init__(root)
        self.dir = os.path.join(root, "postfix")
        self.conf = os.path.join(self.dir, "conf")
        self.maildir = os.path.join(home, "Maildir")

    def start(self):
        # Mail left queued by an earlier run (stopped mid-delivery) would land in this one.
        subprocess.run(["postsuper", "-c", self.conf, "-d", "ALL"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["postfix", "-c", self.conf, "start"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pidfile = os.path.join(self.dir, "spool", "pid", "master.pid")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.pid = int(open(pidfile).read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        wait_banner(self.port)

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.pid and not wait_gone(self.pid):
            kill_pid(self.pid, signal.SIGKILL)
        self.pid = None


class OpenSMTPD(Server):
    """OpenSMTPD 6.8 from Debian's .deb unpacked into a private folder, run in a private mount
    namespace (its compiled-in /var/spool/smtpd, /usr/libexec/opensmtpd and resolver config
    bind-mounted from that folder), listen backlog raised from 5 to 511 by an LD_PRELOAD shim."""

    name = "opensmtpd"
    port = 2603

    def __init__(self, root, home):
        super().__init__(root)
        self.dir = os.path.join(root, "opensmtpd")
        self.maildir = os.path.join(home, "Maildir")

    def start(self):
        # Mail left queued by an earlier run (stopped mid-delivery) would land in this one.
        shutil.rmtree(os.path.join(self.dir, "var", "spool", "smtpd"), ignore_errors=True)
        self.spawn(["unshare", "-m", "--propagation", "private",
                    os.path.join(self.dir, "start.sh")], cwd=self.dir)
        wait_banner(self.port)


class SMTPSink(Server):
    """Postfix's smtp-sink: answers everything, stores nothing."""

    name = "smtp-sink"
    port = 2605
    durable = False

    def start(self):
        self.spawn(["smtp-sink", "-u", "nobody", f"127.0.0.1:{self.port}", "511"], cwd=self.root)
        wait_banner(self.port)


def proc_children():
    """pid → list of child pids, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def tree(pid):
    children = proc_children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid):
    """CPU seconds (user+system) of the tree at `pid`, including its reaped children
    (cutime+cstime): the delta between two calls is what the tree spent in between."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])
    return total / TICK


def tree_rss_kib(pid):
    """Summed VmRSS (KiB) of the tree at `pid`, and its process count."""
    total, count = 0, 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        count += 1
                        break
        except OSError:
            continue
    return total, count


def hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kib(pid):
    """Summed proportional set size (KiB) of the tree: shared pages counted once overall,
    fairer than summed RSS for multi-process servers."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total
