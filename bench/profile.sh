#!/bin/sh
# Profiles our smtpd's hot path on a short smtp-source run (20 sessions, 1 KiB).
#   TOOL=callgrind (default: this VM has no hardware counters, `perf stat -e instructions`
#   says "not supported") or TOOL=perf (cpu-clock sampling, user and kernel stacks).
#   MODE=nostore (protocol + reactor only) or MODE=durable (Maildir delivery too).
# Output: BENCH_DIR/profile/<tool>-<mode>.txt (the top of the report).
set -eu
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/maillab-bench}
TOOL=${TOOL:-callgrind}
MODE=${MODE:-nostore}
COUNT=${COUNT:-2000}
SMTPD=${SMTPD:-.build/release/smtpd}
# One process, so the profiler sees the sessions: a root smtpd otherwise runs them in a child
# valgrind and perf -p do not follow (docs/PRIVILEGES.md). The split's own cost is the
# bench's to show.
export MAILLAB_NO_SPLIT=${MAILLAB_NO_SPLIT:-1}
P="$BENCH_DIR/profile"
mkdir -p "$P"
rm -rf "$P/Maildir"
target="$P/Maildir"
[ "$MODE" = nostore ] && target=/dev/null
cat > "$P/smtpd.conf" <<EOF
listen on 127.0.0.1 port 2606
action "local" maildir "$target" virtual { "@" = "nobody" }
match from any for any action "local"
EOF
send() { smtp-source -s 20 -m "$1" -l 1024 -f bench@bench.test -t mlbench@bench.test 127.0.0.1:2606; }
wait_port() {
    i=0
    until python3 -c 'import socket; socket.create_connection(("127.0.0.1", 2606), 1).close()' 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 600 ] || { echo "no listener" >&2; exit 1; }; sleep 0.1
    done
}
out="$P/$TOOL-$MODE.txt"
case "$TOOL" in
callgrind)
    valgrind --tool=callgrind --callgrind-out-file="$P/callgrind.out" \
        "$SMTPD" -d -f "$P/smtpd.conf" 2>"$P/valgrind.log" &
    pid=$!
    wait_port
    # No warm-up and no zeroing (callgrind_control -z leaves every cost on clone()): the
    # start-up is small beside COUNT messages.
    send "$COUNT"
    kill -TERM "$pid"; wait "$pid" || true
    callgrind_annotate --threshold=95 "$P/callgrind.out" | swift demangle --simplified \
        | cut -c1-220 > "$out"
    callgrind_annotate --inclusive=yes --threshold=95 "$P/callgrind.out" \
        | swift demangle --simplified | cut -c1-220 > "$P/$TOOL-$MODE-inclusive.txt"
    ;;
perf)
    "$SMTPD" -d -f "$P/smtpd.conf" 2>"$P/smtpd.log" &
    pid=$!
    wait_port
    send 20
    perf record -q -e cpu-clock -F 1999 -g -p "$pid" -o "$P/perf.data" &
    rec=$!
    sleep 0.5
    send "$COUNT"
    kill -INT "$rec"; wait "$rec" || true
    kill -TERM "$pid"; wait "$pid" || true
    perf report -i "$P/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null \
        | grep -v '^$' | grep -E '^ +[0-9]' | swift demangle --simplified | cut -c1-200 \
        | head -60 > "$out"
    ;;
esac
echo "profile: $out"
head -40 "$out"
