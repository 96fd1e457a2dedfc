#!/bin/sh
# `make bench`: MailLab's smtpd side by side with Postfix, OpenSMTPD 6.8 and smtp-sink, on
# loopback only. Installs what it needs from Debian, configures the peers privately under
# BENCH_DIR, runs bench/bench.py, writes BENCH_DIR/results/bench-*.{json,md}.
#
#   bench/run.sh                 full run (about 15 minutes)
#   QUICK=1 bench/run.sh         smoke run (about 2 minutes)
#   ONLY=throughput|idle|latency|relay|bdat|memory, SERVERS=maillab,postfix,...  REPS=N  restrict a run
#   RELAY_COUNT=N BDAT_COUNT=N   messages per relay / BDAT run
#   MEMORY_SESSIONS=N MEMORY_SIZE=BYTES   the big-message memory cell (20 x 30 MiB)
#
# Root only (users, mount namespace for OpenSMTPD). No service is left running: Debian's
# policy-rc.d refuses service starts during installs, Postfix's boot links are removed,
# every server is started by the harness and stopped by pid.
set -eu
cd "$(dirname "$0")/.."
REPO=$(pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/maillab-bench}
export BENCH_DIR
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root" >&2; exit 1; }

say() { echo "bench: $*"; }

# 1. Never let a package install start a service.
CREATED_POLICY=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    CREATED_POLICY=1
fi
cleanup() { if [ -n "$CREATED_POLICY" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

# 2. Packages: postfix (the server, smtp-source, smtp-sink), OpenSMTPD's libraries (its own
#    package conflicts with postfix: it is unpacked privately, below), a C compiler.
PKGS="postfix gcc libc6-dev libevent-2.1-7 libdb5.3 util-linux python3"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    say "installing:$missing"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi
# Postfix must not come up at boot either (systemctl does not run here: remove the links).
rm -f /etc/systemd/system/multi-user.target.wants/postfix.service
update-rc.d -f postfix remove >/dev/null 2>&1 || true

# 3. Users: the recipient (Postfix and OpenSMTPD deliver as the user), OpenSMTPD's privsep users.
mkdir -p "$BENCH_DIR"
chmod 755 "$BENCH_DIR"
HOMEDIR="$BENCH_DIR/home"
id mlbench >/dev/null 2>&1 || useradd --system --no-create-home --home-dir "$HOMEDIR" \
    --shell /usr/sbin/nologin mlbench
usermod -d "$HOMEDIR" mlbench
for u in opensmtpd opensmtpq; do
    id $u >/dev/null 2>&1 || useradd --system --no-create-home \
        --home-dir /var/lib/opensmtpd/empty --shell /usr/sbin/nologin $u
done
mkdir -p "$HOMEDIR" && chown mlbench: "$HOMEDIR"

# Leftovers of an earlier run (messages parked between runs, server logs) go first.
rm -rf "$BENCH_DIR/trash"
rm -f "$BENCH_DIR"/*.log "$BENCH_DIR/postfix/maillog"

# 4. Helpers: the fsync loop (the disk's ceiling) and the listen-backlog shim.
mkdir -p "$BENCH_DIR/bin"
gcc -O2 -Wall -o "$BENCH_DIR/bin/fsyncloop" bench/fsyncloop.c
gcc -O2 -Wall -shared -fPIC -o "$BENCH_DIR/bin/listen_backlog.so" bench/listen_backlog.c -ldl

# 5. Postfix: private config and queue; local(8) delivery into ~mlbench/Maildir/ for
#    bench.test; nothing is ever relayed (error transport), listens on 127.0.0.1:2602 only.
PF="$BENCH_DIR/postfix"
mkdir -p "$PF/conf" "$PF/spool" "$PF/data"
chown postfix "$PF/data"
cp bench/postfix-master.cf "$PF/conf/master.cf"
sed "s|@PF@|$PF|g" bench/postfix-main.cf > "$PF/conf/main.cf"

# 6. OpenSMTPD 6.8: `apt-get download` + `dpkg -x` into a private folder (the package
#    conflicts with postfix). Its compiled-in paths (/var/spool/smtpd, /var/run/smtpd.sock,
#    /var/lib/opensmtpd/empty, /usr/libexec/opensmtpd) come from that folder through bind
#    mounts in a private mount namespace (bench/servers.py); its resolver only reads
#    /etc/hosts, so no DNS query leaves the host.
OSD="$BENCH_DIR/opensmtpd"
if [ ! -x "$OSD/root/usr/sbin/smtpd" ]; then
    mkdir -p "$OSD/deb"
    (cd "$OSD/deb" && apt-get download -qq opensmtpd 2>/dev/null) || true
    deb=$(ls "$OSD"/deb/opensmtpd_*.deb 2>/dev/null | head -1 || true)
    if [ -n "$deb" ]; then
        rm -rf "$OSD/root"
        dpkg -x "$deb" "$OSD/root"
    else
        say "could not download opensmtpd: running without it"
    fi
fi
if [ -x "$OSD/root/usr/sbin/smtpd" ]; then
    mkdir -p "$OSD/var/lib/opensmtpd/empty" "$OSD/var/spool" "$OSD/var/run" "$OSD/var/tmp"
    chmod 755 "$OSD" "$OSD/var"
    printf 'nameserver 127.0.0.1\nlookup file\n' > "$OSD/resolv.conf"
    cat > "$OSD/smtpd.conf" <<EOF
listen on 127.0.0.1 port 2603
action "local" maildir "%{user.directory}/Maildir"
match from any for domain "bench.test" action "local"
EOF
    cat > "$OSD/start.sh" <<EOF
#!/bin/sh
# Runs inside \`unshare -m --propagation private\`: these mounts are invisible outside.
set -e
mount --bind "$OSD/var" /var
mount --bind "$OSD/root/usr/libexec" /usr/libexec
mount --bind "$OSD/resolv.conf" /etc/resolv.conf
LD_PRELOAD="$BENCH_DIR/bin/listen_backlog.so" exec "$OSD/root/usr/sbin/smtpd" -d -f "$OSD/smtpd.conf"
EOF
    chmod 755 "$OSD/start.sh"
fi

# 7. Our smtpd, release build (minutes on 2 cores the first time).
SMTPD=${SMTPD:-"$REPO/.build/release/smtpd"}   # SMTPD=… (with SKIP_BUILD=1): another build
if [ -z "${SKIP_BUILD:-}" ]; then
    swift build -c release --product smtpd
fi
export SMTPD LOOP="$BENCH_DIR/bin/fsyncloop"

# 8. Descriptors for 10,000 idle sessions (client side; smtpd raises its own).
ulimit -n "$(ulimit -Hn)"

say "machine: $(nproc) CPUs, $(uname -r), $(uptime)"
status=0
/usr/bin/python3 bench/bench.py || status=$?
rm -rf "$BENCH_DIR/trash"
exit $status
