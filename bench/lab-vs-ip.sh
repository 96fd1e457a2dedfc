#!/bin/sh
# Compares `mlab lab up` + `mlab lab down` of the daisy lab with the same objects made by a
# sequence of `ip` commands, and prints the ratio. Not a test: timings vary with the machine.
# Usage: bench/lab-vs-ip.sh [ROUNDS]   (root; uses namespaces mlb-*, nothing else)
set -eu
ROUNDS=${1:-20}
MLAB=${MLAB:-.build/debug/mlab}
LAB=conf/lab-daisy.conf
P=mlb-
[ -x "$MLAB" ] || { echo "build mlab first (swift build --product mlab)" >&2; exit 1; }

cleanup() { for n in gruen blau rot; do ip netns del "$P$n" 2>/dev/null || true; done; }
trap cleanup EXIT
cleanup

ip_up() {
    ip netns add ${P}gruen; ip netns add ${P}blau; ip netns add ${P}rot
    ip netns exec ${P}blau sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    ip -n ${P}gruen link add ccc type veth peer name ddd netns ${P}blau
    ip -n ${P}blau link add eee type veth peer name fff netns ${P}rot
    for n in gruen blau rot; do ip -n $P$n link set lo up; done
    ip -n ${P}gruen link set ccc up; ip -n ${P}blau link set ddd up
    ip -n ${P}blau link set eee up; ip -n ${P}rot link set fff up
    ip -n ${P}gruen addr add 10.0.0.2/24 dev ccc; ip -n ${P}blau addr add 10.0.0.1/24 dev ddd
    ip -n ${P}blau addr add 20.0.0.1/24 dev eee; ip -n ${P}rot addr add 20.0.0.2/24 dev fff
    ip -n ${P}gruen route add 20.0.0.0/24 via 10.0.0.1
    ip -n ${P}rot route add 10.0.0.0/24 via 20.0.0.1
}
ip_down() { ip netns del ${P}gruen; ip netns del ${P}blau; ip netns del ${P}rot; }

now() { date +%s%N; }

start=$(now)
i=0; while [ $i -lt "$ROUNDS" ]; do
    "$MLAB" lab up --quiet --netns-prefix $P $LAB
    "$MLAB" lab down --quiet --netns-prefix $P $LAB
    i=$((i + 1))
done
mlab_ns=$(( $(now) - start ))

start=$(now)
i=0; while [ $i -lt "$ROUNDS" ]; do ip_up; ip_down; i=$((i + 1)); done
ip_ns=$(( $(now) - start ))

# The library alone, without mlab's own process start-up (which dominates a debug build).
lib_us=$("$MLAB" lab bench --netns-prefix $P --rounds "$ROUNDS" $LAB)

ip_us=$((ip_ns / ROUNDS / 1000))
mlab_us=$((mlab_ns / ROUNDS / 1000))
echo "daisy up+down, $ROUNDS rounds ($MLAB):"
echo "  ip commands:          $ip_us µs/round"
echo "  mlab lab up + down:   $mlab_us µs/round (two mlab processes)"
echo "  Lab.up + Lab.down:    $lib_us µs/round (in one process)"
awk -v a="$ip_us" -v b="$mlab_us" -v c="$lib_us" \
    'BEGIN { printf "ratio ip/mlab-cli: %.1fx   ratio ip/library: %.1fx\n", a / b, a / c }'
