#!/usr/bin/env bash
# The course's last exercise, unattended: the seed lab up — with its smtpd inside gruen (listen
# on bbb port 25, as conf/smtpd.conf says), listening when up returns — the seed's dialogue
# from the host, the Maildir shown, everything torn down again (down stops smtpd). Needs root
# (namespaces) and a free /tmp/maildir.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/debug
LAB=conf/lab-seed.conf
MAILDIR=/tmp/maildir

trap '"$BIN/mlab" lab down "$LAB" || true' EXIT

"$BIN/mlab" lab up "$LAB"
"$BIN/mlab" lab status "$LAB" | grep smtpd

echo "=== the seed's dialogue, from the host to 10.0.0.2:25"
"$BIN/mlab" chat --server 10.0.0.2 --port 25 conf/chat/seed.chat

echo "=== $MAILDIR"
"$BIN/mlab" maildir ls "$MAILDIR"
"$BIN/mlab" maildir show "$MAILDIR" "$("$BIN/mlab" maildir count "$MAILDIR")"
