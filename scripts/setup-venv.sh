#!/usr/bin/env bash
# Creates .venv if it is missing and installs logpager into it, editable.
# Usage: scripts/setup-venv.sh [EXTRAS]   (for example: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${1:+[$1]}"
# Byte-compile everything once: with PYTHONDONTWRITEBYTECODE set (common in containers) pip
# leaves no .pyc files, and every start then compiles in memory, which cost the idle server
# ~30 MiB more RSS (154 vs 125 MiB measured) on top of slower starts.
.venv/bin/python -m compileall -q -j 0 .venv/lib/python3*/site-packages src >/dev/null || true
