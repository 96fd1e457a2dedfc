"""The relay cell: smtp-source → a relay → smtp-sink, for our smtpd (`action … relay host`,
its disk queue) and for Postfix (relayhost, its queue manager), in the same run. A message
counts when the sink has seen its final dot (`smtp-sink -c` counters); nothing is stored at
the sink, so the relay's own queue (write, flush, hand on, remove) is what is measured.

Ports: the sink on 127.0.0.1:2610, our relay on 2608, Postfix's relay on 2609.
"""

import os
import re
import shutil
import subprocess
import time

from servers import OurSMTPD, Postfix, Server, wait_banner
from throughput import RSSSampler, load, smtp_source, tree_cpu

SINK_PORT = 2610


class CountingSink(Server):
    """smtp-sink with running counters on stdout (`-c`): `mesg=N` after each final dot."""

    name = "relay-sink"
    port = SINK_PORT
    durable = False

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        if os.path.exists(self.log_path):
            os.remove(self.log_path)
        self.spawn(["smtp-sink", "-c", "-u", "nobody", f"127.0.0.1:{self.port}", "511"],
                   cwd=self.root)
        wait_banner(self.port)

    def messages(self):
        """The last `mesg=N` counter the sink printed (0 before the first)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 4096))
                tail = f.read().decode(errors="replace")
        except OSError:
            return 0
        found = re.findall(r"mesg=(\d+)", tail)
        return int(found[-1]) if found else 0


class OurRelay(OurSMTPD):
    """Our smtpd as a relay: every recipient to the sink, through its disk queue."""

    def __init__(self, root, binary):
        super().__init__(root, binary)
        self.name = "maillab-relay"
        self.port = 2608
        self.dir = os.path.join(root, self.name)
        self.maildir = None
        self.spool = os.path.join(self.dir, "spool")

    def start(self):
        shutil.rmtree(self.spool, ignore_errors=True)
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "smtpd.conf")
        with open(conf, "w") as f:
            f.write(f'queue directory "{self.spool}"\n')
            f.write(f"listen on 127.0.0.1 port {self.port}\n")
            f.write(f'action "sink" relay host "smtp://127.0.0.1:{SINK_PORT}"\n')
            f.write('match from any for any action "sink"\n')
        self.spawn([self.binary, "-d", "-f", conf], cwd=self.dir)
        wait_banner(self.port)

    def queued(self):
        """Messages still in the spool (one file per message in new/)."""
        try:
            return sum(1 for _ in os.scandir(os.path.join(self.spool, "new")))
        except FileNotFoundError:
            return 0


class PostfixRelay(Postfix):
    """Postfix from the bench's private config, as a relay: relayhost = the sink, nothing
    delivered locally, its own queue and config folder (`postfix-relay/`)."""

    name = "postfix-relay"
    port = 2609

    def __init__(self, root, home):
        super().__init__(root, home)
        self.dir = os.path.join(root, "postfix-relay")
        self.conf = os.path.join(self.dir, "conf")
        self.maildir = None
        here = os.path.dirname(os.path.abspath(__file__))
        for sub in ("conf", "spool", "data"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        overrides = {
            "myhostname": "mlbench-relay.localdomain",
            "mydestination": "",
            "relayhost": f"[127.0.0.1]:{SINK_PORT}",
            "default_transport": "smtp",
            "relay_transport": "relay",
        }
        lines = []
        with open(os.path.join(here, "postfix-main.cf")) as f:
            for line in f:
                key = line.split("=", 1)[0].strip()
                if key in overrides:
                    continue
                lines.append(line.replace("@PF@", self.dir))
        lines += [f"{k} = {v}\n" for k, v in overrides.items()]
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.writelines(lines)
        with open(os.path.join(here, "postfix-master.cf")) as f:
            master = f.read().replace("127.0.0.1:2602 ", f"127.0.0.1:{self.port} ")
        master += "smtp      unix - - n - - smtp\nrelay     unix - - n - - smtp\n"
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master)

    def queued(self):
        p = subprocess.run(["postqueue", "-c", self.conf, "-j"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        return sum(1 for line in p.stdout.splitlines() if line.strip())


def run_relay(relay, sink, sessions, count, size, warmup=20, timeout=300.0):
    """One measured run: a fresh sink and relay, a warm-up, then `count` messages; done
    when the sink has seen them all (or `timeout`). Returns a result dict."""
    sink.start()
    relay.start()
    try:
        smtp_source(relay.port, 1, warmup, size)
        deadline = time.monotonic() + 60
        while sink.messages() < warmup and time.monotonic() < deadline:
            time.sleep(0.02)
        base = sink.messages()
        cpu0 = tree_cpu(relay.pid)
        sampler = RSSSampler(relay.pid)
        sampler.start()
        ld = load()
        t0 = time.monotonic()
        _, client_cpu, cmd = smtp_source(relay.port, sessions, count, size)
        deadline = time.monotonic() + timeout
        while sink.messages() - base < count and time.monotonic() < deadline:
            time.sleep(0.02)
        t1 = time.monotonic()
        # Late duplicates (a retried hand-over) would show up now.
        time.sleep(0.5)
        delivered = sink.messages() - base
        cpu1 = tree_cpu(relay.pid)
        sampler.stop()
        return {
            "server": relay.name, "sessions": sessions, "size": size, "count": count,
            "delivered": min(delivered, count), "duplicates": max(0, delivered - count),
            "queued_after": relay.queued(), "seconds": t1 - t0,
            "rate": min(delivered, count) / (t1 - t0), "server_cpu": cpu1 - cpu0,
            "client_cpu": client_cpu, "peak_rss_kib": sampler.peak, "procs": sampler.peak_procs,
            "peak_pss_kib": sampler.peak_pss, "load": ld, "command": cmd,
        }
    finally:
        relay.stop()
        sink.stop()
