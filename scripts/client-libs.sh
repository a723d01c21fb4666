#!/usr/bin/env bash
# Installs the published client libraries that the compatibility tests drive
# (tests/e2e_clients.rs: Piston clients; tests/e2e_judge0.rs: the judge0
# SDK) into target/clients, once: pinned versions from PyPI, nothing
# installed into the system's Python. Delete target/clients to install again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=target/clients/py
STAMP=target/clients/.installed-piston_rspy-0.4.3-aiopyston-1.2.1-pistonapi-1.0.1-judge0-0.0.8
[ -f "$STAMP" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "client-libs: installing pip with apt"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip
fi
rm -rf "$DEST"
mkdir -p "$DEST"
echo "client-libs: piston_rspy 0.4.3, aiopyston 1.2.1, pistonapi 1.0.1 and judge0 0.0.8 into $DEST"
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$DEST" piston_rspy==0.4.3 aiopyston==1.2.1 pistonapi==1.0.1 judge0==0.0.8
touch "$STAMP"
