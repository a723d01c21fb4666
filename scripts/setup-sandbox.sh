#!/bin/sh
# Prepares this machine for codr's sandbox. Idempotent: safe to run again.
#
# What it does to the machine:
#   - installs firejail from the distribution's packages (if missing);
#   - creates system users codr-sbx-0 .. codr-sbx-$((SLOTS-1)) (no home, no login
#     shell, own group each; CODR_SANDBOX_SLOTS, 512 by default): one uid per
#     concurrent sandbox (a batch job, a live session or a warm sandbox), so
#     process limits and signals never cross jobs (firejail refuses uids
#     without a passwd entry: "Error getpwuid"). Interactive sessions mostly
#     wait for their user, so a machine runs hundreds at once: one user each;
#   - gives each of them an empty home $BASE/home/<user> (owned by the user,
#     0700): firejail mounts the job directory over the user's passwd home;
#   - creates the job root $BASE/jobs (root, mode 0711: each job directory
#     inside is owned by its slot's user, mode 0700);
#   - refuses io_uring to unprivileged processes machine-wide
#     (kernel.io_uring_disabled=1, kernel 6.6+; root keeps it), persisted in
#     /etc/sysctl.d/60-codr.conf: sandboxes then need no seccomp filter of
#     their own for it, which Firejail builds per start (~3 ms each);
#   - if rustc lives under /root (rustup), hard-links the toolchain's bin/rustc
#     and lib/ into /opt/codr/rust, so that sandboxed compiles can read it while
#     /root stays invisible (re-run after `rustup update`).
set -eu

SLOTS="${CODR_SANDBOX_SLOTS:-512}"
# Not under /var: firejail remounts /var read-only, and a bind mount of a
# read-only path stays read-only, so --private=<job dir> would fail there.
BASE="${CODR_SANDBOX_BASE:-/srv/codr}"
JOB_ROOT="${CODR_JOB_ROOT:-$BASE/jobs}"
HOME_ROOT="$BASE/home"
RUST_DIR="${CODR_RUST_DIR:-/opt/codr/rust}"
PREFIX="${CODR_SANDBOX_USER_PREFIX:-codr-sbx-}"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-sandbox: run as root (sudo make setup)" >&2
    exit 1
fi

if ! command -v firejail >/dev/null 2>&1; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q firejail
fi

mkdir -p "$JOB_ROOT" "$HOME_ROOT"
chown root:root "$BASE" "$JOB_ROOT" "$HOME_ROOT"
chmod 0711 "$BASE" "$JOB_ROOT" "$HOME_ROOT"

i=0
while [ "$i" -lt "$SLOTS" ]; do
    name="${PREFIX}${i}"
    home="$HOME_ROOT/$name"
    if ! entry="$(getent passwd "$name")"; then
        useradd --system --no-create-home --home-dir "$home" \
            --shell /usr/sbin/nologin --user-group "$name"
    elif [ "$(echo "$entry" | cut -d: -f6)" != "$home" ]; then
        usermod --home "$home" "$name" 2>/dev/null || true
    fi
    mkdir -p "$home"
    chown "$name:$name" "$home"
    chmod 0700 "$home"
    i=$((i + 1))
done

# io_uring is a large kernel surface that no toolchain here needs. Where the
# kernel has the switch, refuse it to every unprivileged process (the
# sandbox users included); codr checks it at start and otherwise refuses it
# with a per-sandbox seccomp filter.
IO_URING=/proc/sys/kernel/io_uring_disabled
if [ -f "$IO_URING" ] && [ "$(cat "$IO_URING")" = 0 ]; then
    if echo 1 >"$IO_URING" 2>/dev/null; then
        echo "kernel.io_uring_disabled = 1" >/etc/sysctl.d/60-codr.conf
        echo "setup-sandbox: io_uring refused to unprivileged processes (kernel.io_uring_disabled=1)"
    fi
fi

# rustup keeps the toolchain under /root, which sandbox users cannot traverse.
RUSTC="$(command -v rustc 2>/dev/null || true)"
if [ -n "$RUSTC" ]; then
    SYSROOT="$(rustc --print sysroot)"
    case "$SYSROOT" in
    /root/* | /home/*)
        rm -rf "$RUST_DIR"
        mkdir -p "$RUST_DIR/bin"
        # Hard links when on the same file system (no copy), else a copy.
        cp -al "$SYSROOT/lib" "$RUST_DIR/" 2>/dev/null || cp -a "$SYSROOT/lib" "$RUST_DIR/"
        cp -al "$SYSROOT/bin/rustc" "$RUST_DIR/bin/" 2>/dev/null || cp -a "$SYSROOT/bin/rustc" "$RUST_DIR/bin/"
        rm -rf "$RUST_DIR/lib/rustlib/wasm32-"* "$RUST_DIR/lib/rustlib/src"
        chmod -R a+rX "$RUST_DIR"
        echo "setup-sandbox: rust toolchain linked into $RUST_DIR"
        ;;
    esac
fi

echo "setup-sandbox: firejail $(firejail --version | head -n1 | awk '{print $3}'), ${SLOTS} sandbox users (${PREFIX}0..), job root ${JOB_ROOT}"
