#!/usr/bin/env bash
# The course's last exercise, unattended: the seed lab up, smtpd inside gruen (listen on bbb
# port 25, as conf/smtpd.conf says), the seed's dialogue from the host, the Maildir shown,
# everything torn down again. Needs root (namespaces) and a free /tmp/maildir.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/debug
LAB=conf/lab-seed.conf
MAILDIR=/tmp/maildir

cleanup() {
  if [ -n "${SMTPD_PID:-}" ]; then kill "$SMTPD_PID" 2>/dev/null || true; wait "$SMTPD_PID" 2>/dev/null || true; fi
  "$BIN/mlab" lab down "$LAB" || true
}
trap cleanup EXIT

"$BIN/mlab" lab up "$LAB"
"$BIN/smtpd" -N gruen -d -f conf/smtpd.conf -T smtp &
SMTPD_PID=$!
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/10.0.0.2/25) 2>/dev/null && break
  sleep 0.1
done

echo "=== the seed's dialogue, from the host to 10.0.0.2:25"
if [ -x "$BIN/mlab" ] && "$BIN/mlab" chat --help >/dev/null 2>&1 && [ -f conf/chat/seed.chat ]; then
  "$BIN/mlab" chat --server 10.0.0.2 --port 25 conf/chat/seed.chat
else
  printf '%s\r\n' "HELO defaultNS" "MAIL FROM: abgelaescht@ausgebuefft" \
    "MAIL FROM: <abgelaescht@ausgebuefft>" "RCPT TO: <root@localhost>" "DATA" \
    "Subject: ohne header tut er's nicht" "" \
    "der abgelaeschte armin und der ausgebuEFFte markus:" "solche helden braucht das land!" \
    "." "QUIT" | nc -q 5 10.0.0.2 25
fi

echo "=== $MAILDIR"
"$BIN/mlab" maildir ls "$MAILDIR"
"$BIN/mlab" maildir show "$MAILDIR" "$("$BIN/mlab" maildir count "$MAILDIR")"
