#!/bin/sh
# `make bench-config`: `smtpd -n` on files of N `match` rules (1k, 10k, 20k, 40k), wall time
# and peak RSS, release build. Linear parsing means ~4x the time for 4x the rules
# (BENCHMARKS.md, "Config parsing"). A benchmark, not a timed unit test.
set -eu
cd "$(dirname "$0")/.."
SMTPD=${SMTPD:-.build/release/smtpd}
dir=$(mktemp -d /tmp/maillab-config-scaling-XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "| rules | wall s | peak RSS KiB |"
echo "| ---: | ---: | ---: |"
for n in 1000 10000 20000 40000; do
    f="$dir/smtpd-$n.conf"
    { echo 'listen on lo'; echo 'action "l" maildir "/tmp/x"';
      i=0; while [ $i -lt $n ]; do echo "match from any for domain \"d$i.example\" action \"l\""; i=$((i + 1)); done; } > "$f"
    /usr/bin/time -f "%e %M" -o "$dir/time" "$SMTPD" -n -f "$f" > /dev/null 2>&1
    read -r wall rss < "$dir/time"
    echo "| $n | $wall | $rss |"
done
