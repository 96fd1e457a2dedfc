#!/bin/sh
# make install / make uninstall (README "Install"). Every file and every directory install
# creates is written to a manifest, so uninstall removes exactly those: a directory that was
# already there (/usr/local/bin) is left, and so is a file another package put beside ours.
#
#   scripts/install.sh install BIN_DIR   (smtpd, smtpctl and mlab already built in BIN_DIR)
#   scripts/install.sh uninstall
# Environment: DESTDIR (staging root, may be empty), PREFIX (default /usr/local).
set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
root="$DESTDIR$PREFIX"
manifest_rel=share/maillab/install-manifest
manifest="$root/$manifest_rel"

die() { echo "install.sh: $*" >&2; exit 1; }

# mkdir -p that records each directory it makes (outermost first) in $list.
make_dir() {
    [ -d "$1" ] && return 0
    make_dir "$(dirname "$1")"
    mkdir "$1" || die "mkdir $1 failed"
    echo "d ${1#"$DESTDIR"}" >> "$list"
}

# put MODE SOURCE DEST: DEST is relative to PREFIX.
put() {
    make_dir "$(dirname "$root/$3")"
    install -m "$1" "$2" "$root/$3" || die "install $2 $root/$3 failed"
    echo "f $PREFIX/$3" >> "$list"
}

# The user smtpd's network side runs as (scripts/unprivileged-user.sh): only for a real
# install (no DESTDIR: a staging root's users are its package's business). Left by
# uninstall: files it owned may remain and a later user given the same uid would own them
# (Debian's packages keep their users on remove for the same reason); `userdel _maillab`
# removes it.
unprivileged_user=_maillab
make_user() {
    [ -z "$DESTDIR" ] || return 0
    "$(dirname "$0")/unprivileged-user.sh" || die "the unprivileged user was not made"
}

install_all() {
    bin=$1
    here=$(cd "$(dirname "$0")/.." && pwd)
    for b in smtpd smtpctl mlab; do
        [ -x "$bin/$b" ] || die "$bin/$b is missing (make install builds it)"
    done
    [ -f "$manifest" ] && die "$manifest exists: run make uninstall first"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    list=$tmp/manifest
    : > "$list"
    # The staging root is the caller's: made if missing, never recorded, never removed.
    [ -z "$DESTDIR" ] || mkdir -p "$DESTDIR"

    put 755 "$bin/smtpd" sbin/smtpd
    put 755 "$bin/smtpctl" sbin/smtpctl
    put 755 "$bin/mlab" bin/mlab
    for page in smtpd.8 smtpctl.8 smtpd.conf.5 mlab-lab.5 mlab.1; do
        put 644 "$here/man/$page" "share/man/man${page##*.}/$page"
    done
    # swift-argument-parser writes the completion scripts from the command trees.
    for tool in mlab smtpctl; do
        "$bin/$tool" --generate-completion-script bash > "$tmp/$tool.bash"
        "$bin/$tool" --generate-completion-script zsh > "$tmp/_$tool"
        "$bin/$tool" --generate-completion-script fish > "$tmp/$tool.fish"
        put 644 "$tmp/$tool.bash" "share/bash-completion/completions/$tool"
        put 644 "$tmp/_$tool" "share/zsh/site-functions/_$tool"
        put 644 "$tmp/$tool.fish" "share/fish/vendor_completions.d/$tool.fish"
    done
    make_user
    make_dir "$(dirname "$manifest")"
    echo "f $PREFIX/$manifest_rel" >> "$list"
    install -m 644 "$list" "$manifest"
    echo "installed $(grep -c '^f' "$manifest") files under $root (manifest: $PREFIX/$manifest_rel)"
}

uninstall_all() {
    [ -f "$manifest" ] || die "no manifest at $manifest: nothing of MailLab is installed there"
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    cp "$manifest" "$tmp"
    # Files first, then the directories install made, innermost first, each only if empty
    # (something else may have been put there since).
    grep '^f ' "$tmp" | cut -c3- | while IFS= read -r f; do rm -f "$DESTDIR$f"; done
    grep '^d ' "$tmp" | cut -c3- | tac | while IFS= read -r d; do
        rmdir "$DESTDIR$d" 2>/dev/null || echo "install.sh: left $DESTDIR$d (not empty)" >&2
    done
    echo "removed $(grep -c '^f' "$tmp") files from $root"
    if [ -z "$DESTDIR" ] && id "$unprivileged_user" > /dev/null 2>&1; then
        echo "left system user $unprivileged_user (userdel $unprivileged_user removes it)"
    fi
}

case "${1:-}" in
install) [ $# -eq 2 ] || die "usage: install.sh install BIN_DIR"; install_all "$2" ;;
uninstall) uninstall_all ;;
*) die "usage: install.sh install BIN_DIR | uninstall" ;;
esac
