#!/usr/bin/env bash
# Installs Debian's redis-server and redis-cli when they are missing (the Redis session store's
# tests start their own servers). Needs root, or sudo, and apt-get.
set -euo pipefail
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "redis-server is not installed and this user cannot install it: run" \
             "'apt-get install -y redis-server redis-tools' as root" >&2
        exit 1
    fi
fi
echo "installing redis-server and redis-tools with apt-get" >&2
$SUDO apt-get install -y -q redis-server redis-tools >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q redis-server redis-tools >/dev/null; }
# Debian's package starts a system-wide server on port 6379; the tests start their own.
