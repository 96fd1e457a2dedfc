"""Markdown tables from a bench.py results dict (also: `report.py RESULTS.json`)."""

import json
import statistics
import sys

PEERS = ["postfix", "opensmtpd", "smtp-sink"]


def _med(values):
    return statistics.median(values) if values else None


def _cells(results):
    cells = {}
    for r in results["runs"]:
        if "rate" not in r:
            continue
        cells.setdefault((r["server"], r["sessions"], r["size"]), []).append(r)
    return cells


def _size(b):
    return f"{b >> 20} MiB" if b >= 1 << 20 and b % (1 << 20) == 0 else f"{b // 1024} KiB"


def write_report(results):
    out = []
    m = results["machine"]
    out.append(f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem']}, kernel {m['kernel']}, "
               f"{m['fs']} ({m['mount']}).  ")
    out.append(f"Load: start `{m['uptime']}`; end `{m.get('uptime_end', '?')}`. "
               f"Repetitions: {results['reps']}{' (QUICK)' if results['quick'] else ''}.\n")
    cells = _cells(results)
    errors = [r for r in results["runs"] if "error" in r]
    rate = {k: _med([r["rate"] for r in v]) for k, v in cells.items()}
    loop = {size: rate[k] for k in rate for size in [k[2]] if k[0] == "fsync-loop"}

    out.append("### Throughput (msgs/s, median [min–max]; server CPU s; peak RSS)\n")
    out.append("| server | sessions | size | msgs | msgs/s | server CPU s | CPU ms/msg | "
               "peak RSS MiB (procs) | peak PSS MiB | lost | load 1m |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for (server, sessions, size), runs in sorted(
            cells.items(), key=lambda kv: (kv[0][2], kv[0][0] != "fsync-loop", kv[0][0],
                                           kv[0][1])):
        rates = [r["rate"] for r in runs]
        cpu = [r["server_cpu"] for r in runs if r["server_cpu"] is not None]
        rss = [r["peak_rss_kib"] for r in runs if r["peak_rss_kib"]]
        lost = sum(r["count"] - r["delivered"] for r in runs)
        n = runs[0]["count"]
        cpu_txt = f"{_med(cpu):.2f}" if cpu else "–"
        per = f"{_med(cpu) * 1000 / n:.2f}" if cpu else "–"
        rss_txt = (f"{_med(rss) / 1024:.1f} ({max(r['procs'] for r in runs)})" if rss else "–")
        pss = [r["peak_pss_kib"] for r in runs if r.get("peak_pss_kib")]
        pss_txt = f"{_med(pss) / 1024:.1f}" if pss else "–"
        loads = "/".join(r["load"] for r in runs)
        out.append(f"| {server} | {sessions} | {_size(size)} | {n} | **{_med(rates):.0f}** "
                   f"[{min(rates):.0f}–{max(rates):.0f}] | {cpu_txt} | {per} | {rss_txt} | {pss_txt} | "
                   f"{lost} | {loads} |")
    out.append("")

    out.append("### Ratios (medians): MailLab durable and no-storage against each peer\n")
    out.append("| sessions | size | MailLab / fsync loop (run right before) | "
               "MailLab / batched loop (20 files, 2 syncfs) | MailLab / no-storage | "
               "MailLab / Postfix | MailLab / OpenSMTPD | no-storage / smtp-sink |")
    out.append("|---|---|---|---|---|---|---|---|")
    paired = {}
    for (server, sessions, size), runs in cells.items():
        if server == "maillab":
            ratios = [r["rate"] / r["loop_rate"] for r in runs if r.get("loop_rate")]
            if ratios:
                paired[(sessions, size)] = (f"{_med(ratios):.2f} [{min(ratios):.2f}–"
                                            f"{max(ratios):.2f}] (loop {_med([r['loop_rate'] for r in runs]):.0f}/s)")
    keys = sorted({(k[1], k[2]) for k in rate if k[0] in ("maillab", "maillab-nostore")},
                  key=lambda k: (k[1], k[0]))
    for sessions, size in keys:
        ours = rate.get(("maillab", sessions, size))

        def ratio(a, b):
            return f"{a / b:.2f}" if a and b else "–"
        out.append(
            f"| {sessions} | {_size(size)} | {paired.get((sessions, size), ratio(ours, loop.get(size)))} | "
            f"{ratio(ours, rate.get(('batch-loop-20x2', 1, size)))} | "
            f"{ratio(ours, rate.get(('maillab-nostore', sessions, size)))} | "
            f"{ratio(ours, rate.get(('postfix', sessions, size)))} | "
            f"{ratio(ours, rate.get(('opensmtpd', sessions, size)))} | "
            f"{ratio(rate.get(('maillab-nostore', sessions, size)), rate.get(('smtp-sink', sessions, size)))} |")
    out.append("")
    if errors:
        out.append("Errors:\n")
        for r in errors:
            out.append(f"- {r['server']} s={r['sessions']} size={r['size']}: {r['error']}")
        out.append("")

    if results["idle"]:
        out.append("### Idle sessions (took the banner, then silent)\n")
        out.append("| server | sessions | banners | RSS before → after MiB (procs) | "
                   "RSS KiB per session | PSS KiB per session | new banner median / max ms | load |")
        out.append("|---|---|---|---|---|---|---|---|")
        for r in results["idle"]:
            if "error" in r:
                out.append(f"| {r['server']} | {r['sessions']} | error: {r['error']} ||||")
                continue
            out.append(f"| {r['server']} | {r['sessions']} | {r['banners']} | "
                       f"{r['rss0_kib'] / 1024:.1f} → {r['rss1_kib'] / 1024:.1f} ({r['procs']}) | "
                       f"{r['per_session_kib']:.1f} | {r.get('pss_per_session_kib', 0):.1f} | "
                       f"{r['new_banner_ms_median']:.1f} / "
                       f"{r['new_banner_ms_max']:.1f} | {r['load']} |")
        out.append("")

    limit = results.get("limit")
    if limit:
        if "error" in limit:
            out.append(f"Descriptor-limit check: error {limit['error']}\n")
        else:
            out.append(f"Descriptor-limit check (smtpd under `prlimit --nofile={limit['nofile']}`, "
                       f"{limit['sessions']} sessions opened): {limit['banners']} banners, "
                       f"{limit['refused_421']} refused with 421; log: `{limit['log']}`\n")
    if results["latency"]:
        out.append("### Per-message latency, 20 sessions, MAIL → 250 after the dot (ms)\n")
        out.append("| server | size | messages | msgs/s | p50 | p90 | p99 | max | load |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for r in results["latency"]:
            if "error" in r:
                out.append(f"| {r['server']} | error: {r['error']} ||||||||")
                continue
            out.append(f"| {r['server']} | {_size(r['size'])} | {r['messages']} | "
                       f"{r['rate']:.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | "
                       f"{r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['load']} |")
        out.append("")
    out += _pipeline_tables(results)
    out += _memory_table(results)
    return "\n".join(out)


def _memory_table(results):
    """The big-message cell: peak RSS of smtpd with S sessions each sending one M-byte
    message at once."""
    runs = results.get("memory") or []
    if not runs:
        return []
    out = ["### Big messages: peak RSS of smtpd (VmHWM), each session one DATA at once\n",
           "| server | sessions × size | delivered | seconds | RSS before | peak RSS | load 1m |",
           "|---|---|---|---|---|---|---|"]
    for r in runs:
        if "error" in r:
            out.append(f"| {r['server']} | {r['sessions']} × {_size(r['size'])} | "
                       f"error: {r['error']} |||||")
            continue
        out.append(f"| {r['server']} | {r['sessions']} × {_size(r['size'])} | "
                   f"{r['delivered']} | {r['seconds']:.1f} | {r['rss0_kib'] / 1024:.1f} MiB | "
                   f"**{r['peak_rss_kib'] / 1024:.1f} MiB** | {r['load']} |")
    out.append("")
    return out


def _pipeline_tables(results):
    """The relay cell (smtp-source → relay → smtp-sink) and the BDAT cell."""
    out = []
    for key, title, peer in [
            ("relay", "Relay: smtp-source → relay → smtp-sink, 20 sessions, 1 KiB "
             "(a message counts at the sink)", "postfix-relay"),
            ("bdat", "BDAT: 100 KiB in 16 KiB chunks, 20 sessions (a message counts in new/)",
             "postfix")]:
        runs = results.get(key) or []
        if not runs:
            continue
        out.append(f"### {title}\n")
        out.append("| server | msgs | msgs/s median [min–max] | server CPU s | lost | "
                   "duplicates | left queued | load 1m |")
        out.append("|---|---|---|---|---|---|---|---|")
        by = {}
        for r in runs:
            by.setdefault(r["server"], []).append(r)
        for server, rs in by.items():
            ok = [r for r in rs if "rate" in r]
            for r in rs:
                if "error" in r:
                    out.append(f"| {server} | {r['count']} | error: {r['error']} ||||||")
            if not ok:
                continue
            rates = [r["rate"] for r in ok]
            cpu = _med([r["server_cpu"] for r in ok])
            lost = sum(r["count"] - r["delivered"] for r in ok)
            dup = sum(r.get("duplicates", 0) for r in ok)
            queued = sum(r.get("queued_after", 0) for r in ok)
            out.append(f"| {server} | {ok[0]['count']} | **{_med(rates):.0f}** "
                       f"[{min(rates):.0f}–{max(rates):.0f}] | {cpu:.2f} | {lost} | {dup} | "
                       f"{queued} | {'/'.join(r['load'] for r in ok)} |")
        ours = _med([r["rate"] for r in by.get("maillab-relay" if key == "relay" else "maillab",
                                                [])
                     if "rate" in r])
        theirs = _med([r["rate"] for r in by.get(peer, []) if "rate" in r])
        if ours and theirs:
            out.append(f"\nMailLab / {peer}: **{ours / theirs:.2f}** (medians, same run).")
        out.append("")
    return out


if __name__ == "__main__":
    print(write_report(json.load(open(sys.argv[1]))))
