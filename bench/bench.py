#!/usr/bin/python3
"""MailLab benchmark driver (called by bench/run.sh, which installs and configures the peers).

Environment: BENCH_DIR (work folder), SMTPD (our release binary), LOOP (the fsync loop
binary), QUICK=1 (2-minute smoke run), REPS (repetitions, default 3), ONLY (comma list of
parts: throughput,idle,latency,relay,bdat,memory), SERVERS (comma list of server names; also
maillab-oneprocess, maillab-noflush, maillab-noflush-oneprocess, maillab-nostore-oneprocess:
the cost decomposition, run only when named), SMTPD_BASE
(an earlier smtpd binary: adds maillab-base and maillab-base-nostore, for A/B runs), SESSIONS and SIZES
(comma lists), OUT (results folder).
"""

import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bdat import run_bdat  # noqa: E402
from idle import run_idle, run_limit_check  # noqa: E402
from latency import measure  # noqa: E402
from memory import run_memory  # noqa: E402
from relay import CountingSink, OurRelay, PostfixRelay, run_relay  # noqa: E402
from servers import OpenSMTPD, OurSMTPD, Postfix, SMTPSink  # noqa: E402
from throughput import load, park, run_loop, run_server  # noqa: E402

ROOT = os.environ.get("BENCH_DIR", "/tmp/maillab-bench")
TRASH = os.path.join(ROOT, "trash")
QUICK = os.environ.get("QUICK") == "1"
REPS = int(os.environ.get("REPS", "1" if QUICK else "3"))
ONLY = set(os.environ.get("ONLY", "throughput,idle,latency,relay,bdat,memory").split(","))
OUT = os.environ.get("OUT", os.path.join(ROOT, "results"))
HOME = os.path.join(ROOT, "home")

SESSIONS = [int(x) for x in os.environ.get("SESSIONS", "20" if QUICK else "1,20,100").split(",")]
SIZES = [int(x) for x in os.environ.get("SIZES", "1024" if QUICK else "1024,102400").split(",")]
IDLE = [1000] if QUICK else [1000, 10000]
# The relay and BDAT cells (counts overridable for a smoke test of the cell itself).
RELAY_SESSIONS = 20
RELAY_COUNT = int(os.environ.get("RELAY_COUNT", "400" if QUICK else "3000"))
BDAT_SESSIONS = 20
BDAT_COUNT = int(os.environ.get("BDAT_COUNT", "200" if QUICK else "1000"))
BDAT_SIZE, BDAT_CHUNK = 102400, 16384
# The big-message memory cell (issue 17): 20 sessions, one 30 MiB message each.
MEMORY_SESSIONS = int(os.environ.get("MEMORY_SESSIONS", "20"))
MEMORY_SIZE = int(os.environ.get("MEMORY_SIZE", str(30 << 20)))


def count_for(server, sessions, size):
    """Messages per run: enough for several seconds at each server's speed."""
    fast = server.startswith("maillab") or server == "smtp-sink"
    if size <= 1024:
        n = (10000 if fast else 3000) if sessions > 1 else (2000 if fast else 500)
    else:
        n = (3000 if fast else 1500) if sessions > 1 else (1000 if fast else 300)
    return max(200, n // 5) if QUICK else n


def servers():
    smtpd = os.environ["SMTPD"]
    all_servers = [OurSMTPD(ROOT, smtpd), OurSMTPD(ROOT, smtpd, discard=True),
                   Postfix(ROOT, HOME), OpenSMTPD(ROOT, HOME), SMTPSink(ROOT)]
    base = os.environ.get("SMTPD_BASE")
    if base:
        all_servers[2:2] = [OurSMTPD(ROOT, base, base=True),
                            OurSMTPD(ROOT, base, discard=True, base=True)]
    wanted = os.environ.get("SERVERS")
    if wanted:
        names = set(wanted.split(","))
        # The cost decomposition's variants run only when named.
        all_servers[1:1] = [OurSMTPD(ROOT, smtpd, variant=v) for v in OurSMTPD.VARIANTS]
        all_servers[1:1] = [OurSMTPD(ROOT, smtpd, discard=True, variant="oneprocess")]
        all_servers = [s for s in all_servers if s.name in names]
    if not os.path.exists(os.path.join(ROOT, "opensmtpd", "start.sh")):
        all_servers = [s for s in all_servers if s.name != "opensmtpd"]
    return all_servers


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def machine():
    def sh(cmd):
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(), "kernel": platform.release(),
        "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
        "mem": sh("grep MemTotal /proc/meminfo | awk '{print $2/1024/1024 \" GiB\"}'"),
        "fs": sh(f"df -T {ROOT} | tail -1 | awk '{{print $1\" \"$2}}'"),
        "mount": sh(f"findmnt -no OPTIONS -T {ROOT}"),
        "uptime": sh("uptime"),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    results = {"machine": machine(), "quick": QUICK, "reps": REPS, "runs": [], "idle": [],
               "latency": [], "relay": [], "bdat": [], "memory": []}
    path = os.path.join(OUT, f"bench-{stamp}.json")

    def save():
        with open(path, "w") as f:
            json.dump(results, f, indent=1)

    log(f"machine: {results['machine']}")
    if "throughput" in ONLY:
        for size in SIZES:
            for rep in range(REPS):
                count = 1500 if size > 1024 else 3000
                r = run_loop(os.environ["LOOP"], ROOT, max(300, count // 5) if QUICK else count,
                             size, TRASH)
                r["rep"] = rep
                results["runs"].append(r)
                log(f"fsync-loop size={size}: {r['rate']:.0f}/s load {r['load']}")
                # Group commit's ceiling: 20 files per batch (the 20-session cells), with the
                # two flushes a durable Maildir needs and with one (not crash-safe: a bound).
                for flushes in (2, 1):
                    r = run_loop(os.environ["LOOP"], ROOT, count * 2, size, TRASH,
                                 batch=20, flushes=flushes)
                    r["rep"] = rep
                    results["runs"].append(r)
                    log(f"{r['server']} size={size}: {r['rate']:.0f}/s load {r['load']}")
        # Servers take turns within each repetition (A B C, A B C, ...), so that the
        # machine's drift over minutes (shared disk and CPU) spreads over all of them
        # instead of favouring whichever ran in the quiet minutes.
        for size in SIZES:
            for sessions in SESSIONS:
                for rep in range(REPS):
                    for server in servers():
                        n = count_for(server.name, sessions, size)
                        paired = None
                        if server.name == "maillab":
                            # The disk's ceiling right before: the machine is shared and
                            # its disk speed drifts by several times within minutes.
                            paired = run_loop(os.environ["LOOP"], ROOT,
                                              1000 if size <= 1024 else 500, size, TRASH)
                        try:
                            r = run_server(server, sessions, n, size, TRASH)
                            if paired:
                                r["loop_rate"] = paired["rate"]
                        except Exception as e:  # record and go on with the next cell
                            r = {"server": server.name, "sessions": sessions, "size": size,
                                 "count": n, "error": str(e)[:300], "load": load()}
                            log(f"{server.name} s={sessions} size={size}: ERROR {e}")
                        r["rep"] = rep
                        results["runs"].append(r)
                        save()
                        if "rate" in r:
                            log(f"{server.name} s={sessions} size={size} n={n}: "
                                f"{r['rate']:.0f}/s cpu {r['server_cpu']:.2f}s "
                                f"rss {r['peak_rss_kib'] / 1024:.1f}MiB "
                                f"lost {n - r['delivered']} load {r['load']}"
                                + (f" loop {r['loop_rate']:.0f}/s" if "loop_rate" in r else ""))
    if "idle" in ONLY:
        for server in servers():
            if server.name in ("smtp-sink", "maillab-nostore"):
                continue
            for n in IDLE:
                if n > 1000 and server.name != "maillab":
                    continue  # Postfix: one process per session; OpenSMTPD: see BENCHMARKS.md
                try:
                    r = run_idle(server, n)
                except Exception as e:
                    r = {"server": server.name, "sessions": n, "error": str(e)[:300]}
                r["load"] = load()
                results["idle"].append(r)
                save()
                log(f"idle {r}")
            if server.name == "maillab":
                try:
                    results["limit"] = run_limit_check(server)
                except Exception as e:
                    results["limit"] = {"error": str(e)[:300]}
                log(f"descriptor limit check {results['limit']}")
    if "latency" in ONLY:
        for server in servers():
            park(server.maildir, TRASH)
            server.start()
            try:
                for size in SIZES:
                    r = measure(server.port, sessions=20, count=400 if QUICK else 2000, size=size)
                    r.update({"server": server.name, "size": size, "load": load()})
                    results["latency"].append(r)
                    save()
                    log(f"latency {r}")
            except Exception as e:
                results["latency"].append({"server": server.name, "error": str(e)[:300]})
            finally:
                server.stop()
    if "relay" in ONLY:
        # smtp-source → relay → smtp-sink; the relays take turns within each repetition.
        wanted = os.environ.get("SERVERS")
        relays = [OurRelay(ROOT, os.environ["SMTPD"]), PostfixRelay(ROOT, HOME)]
        if wanted:
            relays = [r for r in relays if r.name in set(wanted.split(","))]
        for rep in range(REPS):
            for relay in relays:
                try:
                    r = run_relay(relay, CountingSink(ROOT), RELAY_SESSIONS, RELAY_COUNT, 1024)
                except Exception as e:
                    r = {"server": relay.name, "sessions": RELAY_SESSIONS, "size": 1024,
                         "count": RELAY_COUNT, "error": str(e)[:300], "load": load()}
                r["rep"] = rep
                results["relay"].append(r)
                save()
                log(f"relay {r}")
    if "bdat" in ONLY:
        for rep in range(REPS):
            for server in servers():
                if server.name not in ("maillab", "postfix"):
                    continue  # no Maildir to count in, or no CHUNKING (OpenSMTPD 6.8)
                try:
                    r = run_bdat(server, BDAT_SESSIONS, BDAT_COUNT, BDAT_SIZE, BDAT_CHUNK, TRASH)
                except Exception as e:
                    r = {"server": server.name, "sessions": BDAT_SESSIONS, "size": BDAT_SIZE,
                         "count": BDAT_COUNT, "error": str(e)[:300], "load": load()}
                r["rep"] = rep
                results["bdat"].append(r)
                save()
                log(f"bdat {r}")
    if "memory" in ONLY:
        for rep in range(REPS):
            for server in servers():
                if server.name not in ("maillab", "maillab-base"):
                    continue  # the peers spool to disk by design; the cell is about us
                try:
                    r = run_memory(server, MEMORY_SESSIONS, MEMORY_SIZE, TRASH)
                except Exception as e:
                    r = {"server": server.name, "sessions": MEMORY_SESSIONS,
                         "size": MEMORY_SIZE, "error": str(e)[:300], "load": load()}
                r["rep"] = rep
                results["memory"].append(r)
                save()
                log(f"memory {r}")
    results["machine"]["uptime_end"] = machine()["uptime"]
    save()
    from report import write_report
    md = write_report(results)
    with open(os.path.join(OUT, f"bench-{stamp}.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"results: {path}")


if __name__ == "__main__":
    main()
