#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test codr.
# Idempotent: every step checks first and does nothing when already done.
#
# What it does to the machine (also in README.md, "What `make setup` does"):
#   - rustup: adds the wasm32-wasip2 target (plugins are built for it);
#   - apt: installs firejail (the sandbox), redis-server (multi-machine mode and
#     tests), gcc, g++, python3, nodejs, openjdk-17, golang-go (the plugins'
#     toolchains), npm (playground assets, npm client tests), chromium and
#     chromium-driver (browser tests);
#   - scripts/setup-sandbox.sh: sandbox users and the job directory root.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf 'setup: %s\n' "$*"; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    log "adding the wasm32-wasip2 Rust target"
    rustup target add wasm32-wasip2
fi

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need firejail firejail
need redis-server redis-server
need gcc gcc
need g++ g++
need make make
[ -x /usr/bin/python3 ] || missing+=(python3)
need node nodejs
need javac openjdk-17-jdk-headless
need go golang-go                   # the Go plugin's toolchain
need npm npm                        # the playground's assets and npm clients
need chromium chromium              # browser tests of the playground
need chromedriver chromium-driver
need cmake cmake                    # tree-sitter's wasm grammars (wasmtime-c-api headers)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing with apt: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if [ -x scripts/setup-sandbox.sh ]; then
    $SUDO scripts/setup-sandbox.sh
fi
log "ok"
