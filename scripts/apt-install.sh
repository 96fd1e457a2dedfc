#!/bin/sh
# `make deps`: installs Debian packages without prompts and without starting services.
# Postfix is installed for the interop tests and the bench only (each runs a private
# instance with `postfix -c DIR`), never as the machine's mail server: debconf is preseeded
# with "No configuration" (no /etc/postfix/main.cf, no prompt), /usr/sbin/policy-rc.d
# refuses service starts during the install (created here if missing, removed after), and
# Postfix's boot links are removed, so nothing listens on port 25 of the host afterwards.
set -eu
[ "$(id -u)" = 0 ] || { echo "scripts/apt-install.sh: run as root (make deps uses sudo)" >&2; exit 1; }
[ $# -gt 0 ] || exit 0

CREATED_POLICY=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    CREATED_POLICY=1
fi
cleanup() { if [ -n "$CREATED_POLICY" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

postfix_before=""
dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q "ok installed" && postfix_before=1
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"

# Only a Postfix this run installed is switched off: an existing one is the machine's own.
if [ -z "$postfix_before" ] && dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q "ok installed"; then
    if [ -d /run/systemd/system ]; then
        systemctl disable --now postfix.service >/dev/null 2>&1 || true
    fi
    rm -f /etc/systemd/system/multi-user.target.wants/postfix.service
    update-rc.d -f postfix remove >/dev/null 2>&1 || true
    if postfix status >/dev/null 2>&1; then postfix stop >/dev/null 2>&1 || true; fi
    echo "apt-install: postfix installed for private instances only; the system service is off"
fi
