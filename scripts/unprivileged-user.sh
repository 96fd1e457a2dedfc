#!/bin/sh
# Makes the user smtpd's network side runs as (docs/PRIVILEGES.md; smtpd's
# UnprivilegedUser.name) when it is missing: a system account with a group of its own, no
# home, no shell, no password, as Debian's opensmtpd makes its "opensmtpd" user. Root only
# (a root smtpd needs it; one run by another user never splits). Used by `make deps`, so that
# `make run` as root works on a fresh machine, and by scripts/install.sh.
set -eu
name=_maillab
[ "$(id -u)" -eq 0 ] || { echo "unprivileged-user.sh: not root: user $name not made" >&2; exit 0; }
id "$name" > /dev/null 2>&1 && exit 0
useradd --system --user-group --home-dir /nonexistent --no-create-home \
    --shell /usr/sbin/nologin --comment "MailLab smtpd network side" "$name" \
    || { echo "unprivileged-user.sh: useradd $name failed" >&2; exit 1; }
echo "made system user $name"
