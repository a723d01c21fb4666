#!/usr/bin/env bash
# Installs the published client libraries that the compatibility tests drive
# (tests/e2e_clients.rs: Piston clients; tests/e2e_judge0.rs: the judge0
# SDK) into target/clients, once: pinned versions from PyPI into
# target/clients/py and from npm into target/clients/npm, nothing installed
# into the system's Python or Node. Each part has its own stamp; delete
# target/clients to install both again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# PyPI: piston_rspy, aiopyston, pistonapi (Piston) and judge0.
PY_DEST=target/clients/py
PY_STAMP=target/clients/.installed-piston_rspy-0.4.3-aiopyston-1.2.1-pistonapi-1.0.1-judge0-0.0.8
if [ ! -f "$PY_STAMP" ]; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        echo "client-libs: installing pip with apt"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip
    fi
    rm -rf "$PY_DEST"
    mkdir -p "$PY_DEST"
    echo "client-libs: piston_rspy 0.4.3, aiopyston 1.2.1, pistonapi 1.0.1 and judge0 0.0.8 into $PY_DEST"
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --target "$PY_DEST" piston_rspy==0.4.3 aiopyston==1.2.1 pistonapi==1.0.1 judge0==0.0.8
    touch "$PY_STAMP"
fi

# npm: piston-client (Piston's Node client) with its one dependency,
# node-fetch, pinned too (its own dependencies have a single release in
# range). scripts/setup.sh installs npm on a fresh machine.
NPM_DEST=target/clients/npm
NPM_STAMP=target/clients/.installed-npm-piston-client-1.0.2-node-fetch-2.7.0
if [ ! -f "$NPM_STAMP" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "client-libs: installing npm with apt"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm
    fi
    rm -rf "$NPM_DEST"
    mkdir -p "$NPM_DEST"
    echo "client-libs: piston-client 1.0.2 (node-fetch 2.7.0) into $NPM_DEST"
    npm install --silent --no-audit --no-fund --no-package-lock --save-exact \
        --prefix "$NPM_DEST" piston-client@1.0.2 node-fetch@2.7.0
    touch "$NPM_STAMP"
fi
