#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when they are absent:
# a PostgreSQL server (the tests start a throwaway cluster of their own) and Chromium.
set -euo pipefail

need=()
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "ensure-system-packages: cannot install ${need[*]} (not root, no sudo); tests needing them will skip outside CI" >&2
    exit 0
fi
echo "ensure-system-packages: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
