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
