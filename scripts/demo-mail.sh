#!/usr/bin/env bash
# The mail lab (conf/lab-mail.conf, issue 12 item 6), unattended: the daisy chain up with a
# DNS server (dnsmasq in blau) and three smtpds; rot.lab's MX as blau's relay finds it; a
# message from gruen to bob@rot.lab through blau into rot's Maildir with one Received: line
# per hop; blau's queue empty; rot's server stopped, a second message waiting in blau's queue,
# rot started again, `smtpctl schedule all`, delivered; the lab down, nothing left behind.
# Needs root. DNS never leaves the lab (see the lab file).
#
#   scripts/demo-mail.sh                  the whole demo
#   scripts/demo-mail.sh --network-only   up to the relay step: lab, DNS answers, servers
#                                         listening, down (what works before relaying lands)
#   MLAB_NETNS_PREFIX=x- scripts/…        the same with namespaces x-gruen, x-blau, x-rot
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/debug}
LAB=conf/lab-mail.conf
MAILDIR=/tmp/mlab-mail/rot/bob
P=${MLAB_NETNS_PREFIX:-}
NETWORK_ONLY=0
[ "${1:-}" = "--network-only" ] && NETWORK_ONLY=1

mlab() { "$BIN/mlab" "$@"; }
lab() { local verb=$1; shift; mlab lab "$verb" ${P:+--netns-prefix "$P"} "$@" "$LAB"; }
fail() { echo "demo-mail: $*" >&2; exit 1; }

# The pid of a lab server from `mlab lab status` ("running  smtpd rot … (pid N, log …)").
server_pid() { lab status 2>/dev/null | sed -n "s/^running  $1 .*(pid \([0-9]*\),.*/\1/p"; }
# blau's control socket: as status shows it (a lab that gives each smtpd its own), else the
# one conf/mail-blau.conf names.
blau_socket() {
  local shown
  shown=$(lab status 2>/dev/null | awk '/^running  smtpd blau /{getline; if ($1 == "smtpctl") print $3}')
  if [ -n "$shown" ]; then echo "${shown%:}"; return; fi
  sed -n 's/^control socket "\(.*\)"$/\1/p' conf/mail-blau.conf
}
received_lines() { grep -c '^Received:' "$1" || true; }
newest() {
  find "$MAILDIR/new" "$MAILDIR/cur" -type f -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -1 | cut -d' ' -f2-
}

down_and_check() {
  local dns
  dns=$(server_pid "run blau -- dnsmasq")
  lab down
  for ns in gruen blau rot; do
    if mlab netns list | grep -qx "$P$ns"; then fail "namespace $P$ns is still there"; fi
    if [ -e "/etc/netns/$P$ns/resolv.conf" ]; then fail "/etc/netns/$P$ns/resolv.conf is still there"; fi
  done
  # A zombie is gone (stopped, waiting for its new parent to reap it).
  if [ -n "$dns" ] && [ -e "/proc/$dns" ] && ! grep -q '^State:.Z' "/proc/$dns/status" 2>/dev/null; then
    fail "dnsmasq (pid $dns) still runs"
  fi
  echo "=== lab down: no namespace, resolv.conf or server left"
}

rm -rf /tmp/mlab-mail /var/spool/maillab/lab-gruen /var/spool/maillab/lab-blau
trap 'lab down >/dev/null 2>&1 || true' EXIT
lab up
lab status | grep -E '^(running|DEAD) ' || true

echo "=== DNS inside the lab: rot.lab's mail exchangers as blau's relay finds them"
mlab mx -n "${P}blau" rot.lab
echo "=== and as gruen and rot see them (each namespace's own /etc/netns/NS/resolv.conf)"
mlab mx -n "${P}gruen" rot.lab
mlab mx -n "${P}rot" gruen.lab
if mlab mx -n "${P}rot" nosuch.lab 2>/dev/null; then fail "nosuch.lab has exchangers"; fi
echo "nosuch.lab: no such domain (permanent), as expected"

echo "=== the three smtpds listen"
for address in 10.0.0.2 10.0.0.1 20.0.0.2; do
  banner=$(mlab nc --netns "${P}gruen" -w 5 "$address" 25 </dev/null)
  case "$banner" in 220*) echo "$address:25: ${banner%%$'\r'*}" ;; *) fail "$address:25 does not answer" ;; esac
done

if [ "$NETWORK_ONLY" = 1 ]; then
  trap - EXIT
  down_and_check
  exit 0
fi

echo "=== a message from ann@gruen.lab to bob@rot.lab, submitted to gruen's smtpd"
mlab send --netns "${P}gruen" --server 10.0.0.2 --from ann@gruen.lab --to bob@rot.lab \
  --subject "across the lab" --body "gruen -> blau -> rot" \
  || fail "gruen's smtpd refused the message (relay actions are issue 12 items 1-3)"
mlab maildir wait "$MAILDIR" --count 1 --timeout 30 || fail "nothing arrived in rot's $MAILDIR"
first=$(newest)
echo "=== rot's Maildir: $first"
mlab maildir show "$MAILDIR" 1 --headers
hops=$(received_lines "$first")
[ "$hops" = 3 ] || fail "expected 3 Received: lines (gruen, blau, rot), found $hops"
echo "3 Received: lines, one per hop"

SMTPCTL="$BIN/smtpctl"
[ -x "$SMTPCTL" ] || fail "no $SMTPCTL (issue 12 item 5)"
SOCKET=$(blau_socket)
echo "=== blau's queue (smtpctl -s $SOCKET show queue)"
queue=$("$SMTPCTL" -s "$SOCKET" show queue)
[ -z "$queue" ] || fail "blau's queue is not empty: $queue"
echo "(empty)"

echo "=== rot's server stopped; a second message waits in blau's queue"
rot=$(server_pid "smtpd rot")
[ -n "$rot" ] || fail "rot's smtpd is not running"
kill "$rot"
for _ in $(seq 50); do kill -0 "$rot" 2>/dev/null || break; sleep 0.1; done
mlab send --netns "${P}gruen" --server 10.0.0.2 --from ann@gruen.lab --to bob@rot.lab \
  --subject "while rot is down" --body "queued in blau"
for _ in $(seq 100); do
  queue=$("$SMTPCTL" -s "$SOCKET" show queue)
  [ -n "$queue" ] && break
  sleep 0.1
done
echo "$queue"
[ "$(printf '%s\n' "$queue" | grep -c 'bob@rot.lab')" = 1 ] || fail "the message is not in blau's queue"

echo "=== rot started again (a second up starts the servers that died), then schedule all"
lab up
"$SMTPCTL" -s "$SOCKET" schedule all
mlab maildir wait "$MAILDIR" --count 2 --timeout 30 || fail "the queued message did not arrive"
mlab maildir ls "$MAILDIR"
queue=$("$SMTPCTL" -s "$SOCKET" show queue)
[ -z "$queue" ] || fail "blau's queue is not empty after delivery: $queue"
echo "blau's queue is empty again"

trap - EXIT
down_and_check
