#!/usr/bin/env python3
"""Tabulates a flush trace (smtpd run with MAILLAB_FLUSH_TRACE=FILE): where a message's time
between its final dot and its 250 goes. Lines (FlushTrace.swift), CLOCK_MONOTONIC ns:
  J submitted taken written dataFlushed linked namesStarted namesFlushed completed jobs files
  S dot handed posted resumed replied
Usage: flushtrace.py FILE [--skip N]   (N: leading messages to drop, the warm-up; default 20)
"""
import statistics
import sys


def pct(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    path = sys.argv[1]
    skip = int(sys.argv[sys.argv.index("--skip") + 1]) if "--skip" in sys.argv else 20
    jobs, sessions = [], []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if fields and fields[0] == "J" and len(fields) == 11:
                jobs.append([int(x) for x in fields[1:]])
            elif fields and fields[0] == "J" and len(fields) == 10:  # without `written`
                stamps = [int(x) for x in fields[1:]]
                jobs.append(stamps[:2] + stamps[1:2] + stamps[2:])
            elif fields and fields[0] == "S" and len(fields) == 6:
                sessions.append([int(x) for x in fields[1:]])
    jobs.sort()
    sessions.sort()
    jobs, sessions = jobs[skip:], sessions[skip:]
    rows = []

    def row(name, values):
        ms = [v / 1e6 for v in values]
        rows.append((name, statistics.median(ms), pct(ms, 99), statistics.fmean(ms)))

    row("dot -> commit handed to the store (stream writer hop, last write)",
        [s[1] - s[0] for s in sessions])
    row("  handed -> writer takes the batch (queue wait)", [j[1] - j[0] for j in jobs])
    row("  taken -> files written (creates, writes)", [j[2] - j[1] for j in jobs])
    row("  written -> data flushed", [j[3] - j[2] for j in jobs])
    row("  data flushed -> linked into new/", [j[4] - j[3] for j in jobs])
    row("  linked -> names flush starts (hand-off / wait)", [j[5] - j[4] for j in jobs])
    row("  names flush", [j[6] - j[5] for j in jobs])
    row("  names flushed -> own completion posted", [j[7] - j[6] for j in jobs])
    row("handed -> completion posted (the writer, total)", [s[2] - s[1] for s in sessions])
    row("completion posted -> loop runs it", [s[3] - s[2] for s in sessions])
    row("loop runs it -> 250 written", [s[4] - s[3] for s in sessions])
    row("dot -> 250 written (total)", [s[4] - s[0] for s in sessions])
    print(f"{len(sessions)} messages, {len(jobs)} jobs (first {skip} of each dropped)")
    print()
    print("| stage | median ms | p99 ms | mean ms |")
    print("|---|---|---|---|")
    for name, median, p99, mean in rows:
        print(f"| {name} | {median:.3f} | {p99:.3f} | {mean:.3f} |")
    batches = {}
    for j in jobs:
        batches[j[1]] = (j[8], j[9])
    flushes = {j[5] for j in jobs}
    span = (max(j[7] for j in jobs) - min(j[0] for j in jobs)) / 1e9 if jobs else 0
    sizes = [b[0] for b in batches.values()]
    print()
    print(f"batches taken: {len(batches)}, jobs per batch median {statistics.median(sizes)} "
          f"mean {statistics.fmean(sizes):.1f} max {max(sizes)}; "
          f"names flushes: {len(flushes)}; span {span:.2f} s")


if __name__ == "__main__":
    main()
