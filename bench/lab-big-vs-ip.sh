#!/bin/sh
# `make bench-lab`, second part: up+down of the 50-namespace lab (conf/lab-big.conf, from
# scripts/big-lab.sh) by mlab against the same objects made by `ip` commands. Not a test.
# Usage: bench/lab-big-vs-ip.sh [ROUNDS]   (root; uses namespaces mlbb-*, nothing else)
set -eu
ROUNDS=${1:-5}
MLAB=${MLAB:-.build/debug/mlab}
LAB=conf/lab-big.conf
P=mlbb-
[ -x "$MLAB" ] || { echo "build mlab first (swift build --product mlab)" >&2; exit 1; }
scripts/big-lab.sh lab | cmp -s - $LAB || { echo "$LAB is not scripts/big-lab.sh's output" >&2; exit 1; }

cleanup() { for n in $(ip netns list | awk '{print $1}' | grep "^$P" || true); do ip netns del "$n"; done; }
trap cleanup EXIT
cleanup

now() { date +%s%N; }

start=$(now)
i=0; while [ $i -lt "$ROUNDS" ]; do
    "$MLAB" lab up --quiet --prefix $P $LAB
    "$MLAB" lab down --quiet --prefix $P $LAB
    i=$((i + 1))
done
mlab_ns=$(( $(now) - start ))

start=$(now)
i=0; while [ $i -lt "$ROUNDS" ]; do
    scripts/big-lab.sh ip $P
    for n in $(ip netns list | awk '{print $1}' | grep "^$P"); do ip netns del "$n"; done
    i=$((i + 1))
done
ip_ns=$(( $(now) - start ))

ip_ms=$((ip_ns / ROUNDS / 1000000))
mlab_ms=$((mlab_ns / ROUNDS / 1000000))
echo "big lab (50 namespaces, 48 veths, 24 bridge ports, 300 routes) up+down, $ROUNDS rounds ($MLAB):"
echo "  ip commands:          $ip_ms ms/round"
echo "  mlab lab up + down:   $mlab_ms ms/round"
awk -v a="$ip_ns" -v b="$mlab_ns" 'BEGIN { printf "ratio ip/mlab: %.1fx\n", a / b }'
